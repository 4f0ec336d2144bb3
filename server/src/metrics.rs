//! Request and evaluation counters, rendered for `/metrics` in the Prometheus text format.
//! Labels are fixed route names and flow letters, never anything a client chose.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Request and evaluation counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    evaluations: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub(crate) fn request(&self, route: &'static str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((route, status)).or_default() += 1;
        }
    }

    pub(crate) fn evaluated(&self, flow: &'static str, count: u64) {
        if let Ok(mut map) = self.evaluations.lock() {
            *map.entry(flow).or_default() += count;
        }
    }

    /// The counters, and what each key's budget has left (`budgets`: role, evaluations left),
    /// so an operator sees a key near its budget before it refuses (`spec/04-keys.md` §4.3).
    pub(crate) fn render(&self, epoch: u32, budgets: &[(&'static str, u64)]) -> String {
        let mut out = String::from(
            "# HELP blindnym_requests_total HTTP requests by route and status.\n\
             # TYPE blindnym_requests_total counter\n",
        );
        if let Ok(map) = self.requests.lock() {
            for ((route, status), n) in map.iter() {
                out.push_str(&format!(
                    "blindnym_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
                ));
            }
        }
        out.push_str(
            "# HELP blindnym_evaluations_total Elements evaluated by flow.\n\
             # TYPE blindnym_evaluations_total counter\n",
        );
        if let Ok(map) = self.evaluations.lock() {
            for (flow, n) in map.iter() {
                out.push_str(&format!(
                    "blindnym_evaluations_total{{flow=\"{flow}\"}} {n}\n"
                ));
            }
        }
        out.push_str(
            "# HELP blindnym_budget_remaining Evaluations each key of the current epoch may still do.\n\
             # TYPE blindnym_budget_remaining gauge\n",
        );
        for (role, left) in budgets {
            out.push_str(&format!(
                "blindnym_budget_remaining{{role=\"{role}\"}} {left}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP blindnym_epoch The epoch answering now.\n\
             # TYPE blindnym_epoch gauge\nblindnym_epoch {epoch}\n"
        ));
        out
    }
}
