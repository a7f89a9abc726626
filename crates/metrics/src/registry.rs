//! The registry: metric families updated as things happen, collectors
//! asked at scrape time, and the text rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Latency buckets, seconds: 0.5 ms to 60 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Scalar(f64),
    Histogram {
        /// Cumulative counts per bucket of the family's bounds.
        buckets: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

/// One labelled value of a scalar family (a counter or a gauge), as a
/// collector reports it or the history reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Value {
    fn add(&mut self, by: f64) {
        if let Value::Scalar(x) = self {
            *x += by;
        }
    }

    fn observe(&mut self, value: f64, bounds: &[f64]) {
        if let Value::Histogram {
            buckets,
            sum,
            count,
        } = self
        {
            for (b, le) in buckets.iter_mut().zip(bounds) {
                if value <= *le {
                    *b += 1;
                }
            }
            *sum += value;
            *count += 1;
        }
    }
}

/// One label set's value: shared by the family and by handles to it.
type Cell = Arc<Mutex<Value>>;

struct Family {
    name: String,
    help: String,
    kind: Kind,
    label_names: Vec<String>,
    bounds: Arc<[f64]>,
    values: Mutex<BTreeMap<Vec<String>, Cell>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a metrics lock leaves numbers, not invariants.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Family {
    /// The value of a label set, made at first use.
    fn cell(&self, labels: &[&str]) -> Cell {
        let key: Vec<String> = self
            .label_names
            .iter()
            .enumerate()
            .map(|(i, _)| labels.get(i).copied().unwrap_or("").to_string())
            .collect();
        let mut values = lock(&self.values);
        values
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Mutex::new(match self.kind {
                    Kind::Histogram => Value::Histogram {
                        buckets: vec![0; self.bounds.len()],
                        sum: 0.0,
                        count: 0,
                    },
                    _ => Value::Scalar(0.0),
                }))
            })
            .clone()
    }

    fn with<R>(&self, labels: &[&str], f: impl FnOnce(&mut Value) -> R) -> R {
        f(&mut lock(&self.cell(labels)))
    }

    /// The label sets and a copy of their values.
    fn values(&self) -> Vec<(Vec<String>, Value)> {
        let cells: Vec<(Vec<String>, Cell)> = lock(&self.values)
            .iter()
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        cells
            .into_iter()
            .map(|(k, c)| (k, lock(&c).clone()))
            .collect()
    }

    fn samples(&self) -> Vec<Sample> {
        self.values()
            .into_iter()
            .filter_map(|(key, v)| match v {
                Value::Scalar(x) => Some(Sample {
                    labels: self.label_names.iter().cloned().zip(key).collect(),
                    value: x,
                }),
                Value::Histogram { .. } => None,
            })
            .collect()
    }
}

/// One counter of a family, resolved once: updating it takes no lookup
/// (for hot paths such as the data path's per-request counts). A handle to
/// a label set that was removed keeps counting on its own.
#[derive(Clone)]
pub struct CounterHandle(Cell);

impl CounterHandle {
    pub fn inc_by(&self, by: f64) {
        lock(&self.0).add(by.max(0.0));
    }
}

/// One histogram of a family, resolved once.
#[derive(Clone)]
pub struct HistogramHandle {
    cell: Cell,
    bounds: Arc<[f64]>,
}

impl HistogramHandle {
    pub fn observe(&self, value: f64) {
        lock(&self.cell).observe(value, &self.bounds);
    }
}

/// A family of counters, one per label set.
#[derive(Clone)]
pub struct CounterVec(Arc<Family>);
/// A family of gauges, one per label set.
#[derive(Clone)]
pub struct GaugeVec(Arc<Family>);
/// A family of histograms, one per label set.
#[derive(Clone)]
pub struct HistogramVec(Arc<Family>);
/// A counter without labels.
#[derive(Clone)]
pub struct Counter(CounterVec);
/// A gauge without labels.
#[derive(Clone)]
pub struct Gauge(GaugeVec);

impl CounterVec {
    pub fn inc(&self, labels: &[&str]) {
        self.inc_by(labels, 1.0);
    }
    pub fn inc_by(&self, labels: &[&str], by: f64) {
        self.0.with(labels, |v| v.add(by.max(0.0)));
    }
    /// The counter of one label set, for repeated updates.
    pub fn handle(&self, labels: &[&str]) -> CounterHandle {
        CounterHandle(self.0.cell(labels))
    }
    /// Forgets one label set (a volume whose export is gone).
    pub fn remove(&self, labels: &[&str]) {
        remove(&self.0, labels);
    }
    pub fn get(&self, labels: &[&str]) -> f64 {
        scalar(&self.0, labels)
    }
}

impl GaugeVec {
    pub fn set(&self, labels: &[&str], value: f64) {
        self.0.with(labels, |v| *v = Value::Scalar(value));
    }
    pub fn add(&self, labels: &[&str], by: f64) {
        self.0.with(labels, |v| v.add(by));
    }
    pub fn remove(&self, labels: &[&str]) {
        remove(&self.0, labels);
    }
    pub fn get(&self, labels: &[&str]) -> f64 {
        scalar(&self.0, labels)
    }
}

impl HistogramVec {
    pub fn observe(&self, labels: &[&str], value: f64) {
        let bounds = &self.0.bounds;
        self.0.with(labels, |v| v.observe(value, bounds));
    }
    /// The histogram of one label set, for repeated observations.
    pub fn handle(&self, labels: &[&str]) -> HistogramHandle {
        HistogramHandle {
            cell: self.0.cell(labels),
            bounds: self.0.bounds.clone(),
        }
    }
    pub fn remove(&self, labels: &[&str]) {
        remove(&self.0, labels);
    }
    /// How many observations a label set has.
    pub fn count(&self, labels: &[&str]) -> u64 {
        match value_of(&self.0, labels) {
            Some(Value::Histogram { count, .. }) => count,
            _ => 0,
        }
    }
}

impl Counter {
    pub fn inc(&self) {
        self.0.inc(&[]);
    }
    pub fn inc_by(&self, by: f64) {
        self.0.inc_by(&[], by);
    }
    pub fn get(&self) -> f64 {
        self.0.get(&[])
    }
}

impl Gauge {
    pub fn set(&self, value: f64) {
        self.0.set(&[], value);
    }
    pub fn add(&self, by: f64) {
        self.0.add(&[], by);
    }
    pub fn get(&self) -> f64 {
        self.0.get(&[])
    }
}

fn remove(f: &Family, labels: &[&str]) {
    let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    lock(&f.values).remove(&key);
}

/// A copy of a label set's value, if it has one.
fn value_of(f: &Family, labels: &[&str]) -> Option<Value> {
    let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    let cell = lock(&f.values).get(&key).cloned();
    cell.map(|c| lock(&c).clone())
}

fn scalar(f: &Family, labels: &[&str]) -> f64 {
    match value_of(f, labels) {
        Some(Value::Scalar(x)) => x,
        _ => 0.0,
    }
}

/// Every metric of the process.
#[derive(Default)]
pub struct Registry {
    families: Mutex<BTreeMap<String, Arc<Family>>>,
}

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

impl Registry {
    fn family(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[&str],
        bounds: &[f64],
    ) -> Arc<Family> {
        lock(&self.families)
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(Family {
                    name: name.to_string(),
                    help: help.to_string(),
                    kind,
                    label_names: labels.iter().map(|s| s.to_string()).collect(),
                    bounds: bounds.into(),
                    values: Mutex::new(BTreeMap::new()),
                })
            })
            .clone()
    }

    /// The counter family `name` (registered at first use; later calls
    /// return the same family).
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> CounterVec {
        CounterVec(self.family(name, help, Kind::Counter, labels, &[]))
    }
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        Counter(self.counter_vec(name, help, &[]))
    }
    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        GaugeVec(self.family(name, help, Kind::Gauge, labels, &[]))
    }
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        Gauge(self.gauge_vec(name, help, &[]))
    }
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        bounds: &[f64],
    ) -> HistogramVec {
        HistogramVec(self.family(name, help, Kind::Histogram, labels, bounds))
    }

    /// The current samples of a scalar family.
    pub fn samples(&self, name: &str) -> Vec<Sample> {
        let family = lock(&self.families).get(name).cloned();
        family.map(|f| f.samples()).unwrap_or_default()
    }

    /// Every metric in Prometheus' text format, families sorted by name.
    pub fn render(&self) -> String {
        let families: Vec<Arc<Family>> = lock(&self.families).values().cloned().collect();
        // The families map is ordered by name.
        let mut out = String::new();
        for f in families {
            let values = f.values();
            let mut text = header(&f.name, &f.help, f.kind);
            for (key, v) in &values {
                let labels: Vec<(String, String)> = f
                    .label_names
                    .iter()
                    .cloned()
                    .zip(key.iter().cloned())
                    .collect();
                match v {
                    Value::Scalar(x) => line(&mut text, &f.name, &labels, *x),
                    Value::Histogram {
                        buckets,
                        sum,
                        count,
                    } => {
                        for (le, n) in f.bounds.iter().zip(buckets) {
                            let mut l = labels.clone();
                            l.push(("le".into(), format_value(*le)));
                            line(&mut text, &format!("{}_bucket", f.name), &l, *n as f64);
                        }
                        let mut l = labels.clone();
                        l.push(("le".into(), "+Inf".into()));
                        line(&mut text, &format!("{}_bucket", f.name), &l, *count as f64);
                        line(&mut text, &format!("{}_sum", f.name), &labels, *sum);
                        line(
                            &mut text,
                            &format!("{}_count", f.name),
                            &labels,
                            *count as f64,
                        );
                    }
                }
            }
            out.push_str(&text);
        }
        out
    }
}

fn header(name: &str, help: &str, kind: Kind) -> String {
    format!(
        "# HELP {name} {}\n# TYPE {name} {}\n",
        help.replace('\\', "\\\\").replace('\n', "\\n"),
        kind.name()
    )
}

fn line(out: &mut String, name: &str, labels: &[(String, String)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(out, "{k}=\"{v}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", format_value(value));
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms() {
        let r = Registry::default();
        let c = r.counter_vec("t_requests_total", "Requests.", &["family", "status"]);
        c.inc(&["cinder", "200"]);
        c.inc_by(&["cinder", "200"], 2.0);
        r.gauge("t_open", "Open \"things\".").set(1.5);
        let h = r.histogram_vec("t_seconds", "Latency.", &["op"], &[0.1, 1.0]);
        h.observe(&["read"], 0.05);
        h.observe(&["read"], 0.5);
        h.observe(&["read"], 5.0);
        let text = r.render();
        assert!(text.contains("# TYPE t_requests_total counter\n"));
        assert!(text.contains("t_requests_total{family=\"cinder\",status=\"200\"} 3\n"));
        assert!(text.contains("t_open 1.5\n"));
        assert!(text.contains("t_seconds_bucket{op=\"read\",le=\"0.1\"} 1\n"));
        assert!(text.contains("t_seconds_bucket{op=\"read\",le=\"1\"} 2\n"));
        assert!(text.contains("t_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("t_seconds_count{op=\"read\"} 3\n"));
        // Families in name order.
        let open = text.find("t_open").unwrap_or(0);
        let req = text.find("t_requests_total").unwrap_or(0);
        assert!(open < req);
    }

    #[test]
    fn label_values_are_escaped_and_label_sets_removed() {
        let r = Registry::default();
        r.gauge_vec("t_pool_bytes", "Pool size.", &["pool"])
            .set(&["a\"b"], 10.0);
        assert!(r.render().contains("t_pool_bytes{pool=\"a\\\"b\"} 10\n"));
        assert_eq!(r.samples("t_pool_bytes").len(), 1);
        let c = r.counter_vec("t_x_total", "X.", &["v"]);
        c.inc(&["1"]);
        c.remove(&["1"]);
        assert_eq!(c.get(&["1"]), 0.0);
    }
}
