//! The terminal table of a report: two header lines, one row per stage and one for the whole
//! flow, and the notes under it.

use std::time::Duration;

use blindnym::hazmat::floor::Stage;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use indicatif::HumanDuration;

use crate::report::{NATION_DERIVATIONS, Report};

/// Wall seconds as a human duration ("4 days"), or "n/a" when not a finite positive time.
fn human(seconds: f64) -> String {
    Duration::try_from_secs_f64(seconds)
        .map_or_else(|_| "n/a".to_owned(), |d| HumanDuration(d).to_string())
}

/// The table with its header lines and notes, ending in a newline.
pub fn render(report: &Report) -> String {
    let n = report.threads;
    let flow = &report.flow_end_to_end;
    let mut lines = vec![
        format!(
            "blindnym — flow B (POPRF, info = domain), batch {}, {} services, population {} \
             (streamed), {n} thread(s), {:.1} s",
            report.batch, report.services, report.population, report.elapsed_s
        ),
        format!(
            "derivations: {} on 1 thread, {} on {n}; verification sample: {} checked, {} mismatches",
            report.derivations.one_thread,
            report.derivations.all_threads,
            report.verification.sampled,
            report.verification.mismatches
        ),
        String::new(),
    ];

    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "stage".to_owned(),
        "/s 1 core".to_owned(),
        format!("/s {n} cores"),
        "x floor1".to_owned(),
        format!("x floor{n}"),
        "speedup".to_owned(),
        "per pair".to_owned(),
        "floor sp".to_owned(),
        "effic.".to_owned(),
        "nation here".to_owned(),
        format!("nation {}c", report.projection_cores),
    ]);
    for (_, s) in report.stages.iter() {
        table.add_row(vec![
            s.stage.to_owned(),
            format!("{:.0}", s.per_core_per_s),
            format!("{:.0}", s.all_cores_per_s),
            format!("{:.3}", s.cost_vs_floor_one_thread),
            format!("{:.3}", s.cost_vs_floor_all_threads),
            format!("{:.2}x", s.speedup),
            s.speedup_per_pair.to_string(),
            format!("{:.2}x", s.floor_speedup),
            format!("{:.0}%", 100.0 * s.parallel_efficiency),
            human(s.nation_wall_s_this_machine),
            human(s.nation_wall_s_on_cores),
        ]);
    }
    table.add_row(vec![
        "whole flow".to_owned(),
        format!("{:.0}", flow.per_core_per_s),
        format!("{:.0}", flow.all_cores_per_s),
        String::new(),
        String::new(),
        format!("{:.2}x", flow.speedup),
        flow.speedup_per_pair.to_string(),
        String::new(),
        format!("{:.0}%", 100.0 * flow.parallel_efficiency),
        human(flow.nation_wall_s_this_machine),
        human(flow.nation_wall_s_on_cores),
    ]);
    // Every column but the stage name holds numbers: right-aligned.
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    lines.push(table.to_string());
    lines.push(String::new());

    let floors: Vec<String> = report
        .stages
        .iter()
        .map(|(_, s)| {
            format!(
                "{} {:.0} | {:.0}",
                s.stage, s.floor_per_core_per_s, s.floor_all_cores_per_s
            )
        })
        .collect();
    lines.push(format!(
        "raw curve floors, interleaved with the batches (elements/s, 1 | {n} threads): {}",
        floors.join(", ")
    ));
    lines.push(format!(
        "x floor = stage cost per element / raw curve floor per element on the same thread \
         count (1.00 = the curve library's own limit); speedup = {n} threads over 1 on all \
         batches (per pair: median [10th–90th percentile] over the {} back-to-back pairs of \
         batches; floor sp: the floor's own, i.e. what the machine gave); effic. = speedup / {n}; nation = \
         {NATION_DERIVATIONS:.1e} derivations, here on {n} threads and projected on {} cores \
         at the measured efficiency; evaluator core-hours = {:.0}",
        report.pairs, report.projection_cores, report.stages[Stage::Evaluate].nation_core_hours
    ));
    lines.push(format!(
        "keys: each epoch key does at most {} evaluations (spec/04-keys.md §4.3); this run used \
         {} epoch(s); the nation's {NATION_DERIVATIONS:.1e} derivations need {:.0}",
        report.keys.epoch_budget, report.keys.epochs_used, report.keys.nation_epochs_needed
    ));
    if !report.batch_sweep_evaluate_all_cores_per_s.is_empty() {
        let sweep: Vec<String> = report
            .batch_sweep_evaluate_all_cores_per_s
            .iter()
            .map(|p| format!("{}: {:.0}/s", p.batch, p.per_s))
            .collect();
        lines.push(format!(
            "evaluate on {n} threads by batch size: {}",
            sweep.join(", ")
        ));
    }
    lines.push(String::new());
    lines.join("\n")
}
