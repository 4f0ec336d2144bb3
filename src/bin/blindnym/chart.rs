//! The SVG chart of a report: evaluate's throughput against cores (measured, and projected to
//! the projection cores) and against batch size.

use blindnym::hazmat::floor::Stage;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Error;
use crate::report::Report;

/// The chart's size in pixels: two panels side by side.
const SIZE: (u32, u32) = (1100, 460);
/// Colour of measured figures.
const MEASURED: RGBColor = RGBColor(31, 119, 180);
/// Colour of projected figures.
const PROJECTED: RGBColor = RGBColor(214, 98, 20);
/// Approximate plotting-area width and height of a panel, for spacing the ticks.
const PLOT_PX: (f64, f64) = (420.0, 320.0);
/// Font of every text.
const FONT: &str = "sans-serif";

/// A rate for labels: `950`, `20.5k`, `1.3M`, `2G`.
fn short(value: f64) -> String {
    let (scaled, unit) = match value.abs() {
        v if v >= 1e9 => (value / 1e9, "G"),
        v if v >= 1e6 => (value / 1e6, "M"),
        v if v >= 1e3 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    let text = format!("{scaled:.1}");
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

/// Ticks for a log axis over `range`, drawn `px` pixels long: the candidates in the range, in
/// order of preference, each kept when at least `gap` pixels from every tick kept before it.
fn log_ticks(range: (f64, f64), px: f64, gap: f64, candidates: &[f64]) -> Vec<f64> {
    let per_ln = px / (range.1 / range.0).ln();
    let mut kept: Vec<f64> = Vec::new();
    for &t in candidates {
        let inside = t.is_finite() && t >= range.0 && t <= range.1;
        if inside && kept.iter().all(|&k| (t / k).ln().abs() * per_ln >= gap) {
            kept.push(t);
        }
    }
    kept.sort_by(f64::total_cmp);
    kept
}

/// `multiples` of the powers of ten from below `low` to `high`: every power of ten times the
/// first multiple, then times the second, and so on (the order [`log_ticks`] prefers them in).
fn decades(low: f64, high: f64, multiples: &[f64]) -> Vec<f64> {
    let mut first = 1.0;
    while first > low {
        first /= 10.0;
    }
    let mut powers = Vec::new();
    let mut power = first;
    while power <= high {
        powers.push(power);
        power *= 10.0;
    }
    multiples
        .iter()
        .flat_map(|m| powers.iter().map(move |p| m * p))
        .collect()
}

/// "1 thread", "2 threads", or the same with `unit` "core".
fn count(n: u32, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `lo..hi` padded by `factor` on a log scale around the positive finite `values`
/// (`1..10` when there are none).
fn log_range(values: &[f64], factor: f64) -> (f64, f64) {
    let usable = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0);
    let low = usable.clone().fold(f64::INFINITY, f64::min);
    let high = usable.fold(0.0, f64::max);
    if low.is_finite() && high > 0.0 {
        (low / factor, high * factor)
    } else {
        (1.0, 10.0)
    }
}

/// The panel of evaluate's derivations per second against cores, log-log: measured on one
/// thread and on the all-thread pool, dashed out to the projection cores.
fn cores_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    report: &Report,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let evaluate = &report.stages[Stage::Evaluate];
    let (one, all) = (evaluate.per_core_per_s, evaluate.all_cores_per_s);
    let (threads, cores) = (
        f64::from(report.threads),
        f64::from(report.projection_cores),
    );
    let efficiency = evaluate.parallel_efficiency.min(1.0);
    let projected = one * cores * efficiency;

    let x = (1.0, threads.max(cores).max(2.0) * 1.25);
    let mut x_candidates = vec![1.0, threads, cores];
    x_candidates.extend((0..40).map(|k| 2f64.powi(k)));
    let x_ticks = log_ticks(x, PLOT_PX.0, 40.0, &x_candidates);
    let y = log_range(&[one, all, projected], 2.0);
    let mut y_ticks = log_ticks(y, PLOT_PX.1, 22.0, &decades(y.0, y.1, &[1.0, 2.0, 5.0]));
    if y_ticks.len() < 3 {
        let finer = decades(y.0, y.1, &[1.0, 2.0, 5.0, 3.0, 1.5, 4.0, 7.0]);
        y_ticks = log_ticks(y, PLOT_PX.1, 22.0, &finer);
    }

    let mut chart = ChartBuilder::on(area)
        .caption("evaluate + proof: derivations/s vs cores", (FONT, 20))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (x.0..x.1).log_scale().with_key_points(x_ticks),
            (y.0..y.1).log_scale().with_key_points(y_ticks),
        )?;
    chart
        .configure_mesh()
        .x_desc("cores (log scale)")
        .y_desc("derivations/s (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| short(*v))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .draw()?;

    let mut measured = vec![(1.0, one)];
    let mut measured_label = format!("measured: 1 thread {}/s", short(one));
    if report.threads > 1 {
        measured.push((threads, all));
        measured_label += &format!(", {} {}/s", count(report.threads, "thread"), short(all));
    }
    chart
        .draw_series(LineSeries::new(measured.clone(), MEASURED.stroke_width(2)))?
        .label(measured_label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], MEASURED.stroke_width(2)));
    chart.draw_series(
        measured
            .iter()
            .map(|&p| Circle::new(p, 5, MEASURED.filled())),
    )?;

    if report.projection_cores != report.threads {
        let style = PROJECTED.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(threads, all), (cores, projected)],
                8,
                5,
                style,
            ))?
            .label(format!(
                "projected: {} {}/s at {:.0}% efficiency",
                count(report.projection_cores, "core"),
                short(projected),
                100.0 * efficiency
            ))
            .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], 8, 5, style));
        chart.draw_series([Circle::new(
            (cores, projected),
            5,
            PROJECTED.stroke_width(2),
        )])?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
}

/// The panel of evaluate's derivations per second on all threads against batch size, log x.
fn batch_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    report: &Report,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let sweep: Vec<(f64, f64)> = report
        .batch_sweep_evaluate_all_cores_per_s
        .iter()
        .filter_map(|p| Some((f64::from(u32::try_from(p.batch).ok()?), p.per_s)))
        .filter(|(_, rate)| rate.is_finite())
        .collect();
    let batches: Vec<f64> = sweep.iter().map(|p| p.0).collect();
    let (low, high) = log_range(&batches, 1.0);
    let x = (low / 1.7, high * 1.7);
    let x_ticks = log_ticks(x, PLOT_PX.0, 40.0, &batches);
    let top = sweep.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.2;

    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "evaluate + proof on {} vs batch size",
                count(report.threads, "thread")
            ),
            (FONT, 20),
        )
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((x.0..x.1).log_scale().with_key_points(x_ticks), 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("batch size (elements per proof, log scale)")
        .y_desc("derivations/s")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| short(*v))
        .y_labels(6)
        .light_line_style(TRANSPARENT)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .draw()?;
    chart
        .draw_series(LineSeries::new(sweep.clone(), MEASURED.stroke_width(2)))?
        .label(format!("measured on {}", count(report.threads, "thread")))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], MEASURED.stroke_width(2)));
    let value_style = TextStyle::from((FONT, 14).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(sweep.iter().map(|&(batch, rate)| {
        EmptyElement::at((batch, rate))
            + Circle::new((0, 0), 5, MEASURED.filled())
            + Text::new(short(rate), (0, -9), value_style.clone())
    }))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
}

/// The chart of `report` as an SVG document.
pub fn render(report: &Report) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        cores_panel(&left, report)?;
        batch_panel(&right, report)?;
        root.present()?;
    }
    Ok(svg)
}
