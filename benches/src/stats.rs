//! What one load run measured, and the Markdown table the harness prints.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Latencies are recorded in microseconds, from 1 µs to 60 s, with three
/// significant digits: enough to tell 0.41 ms from 0.42 ms at the low end.
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .map_err(|e| anyhow::anyhow!("Failed to create a latency histogram: {e}"))
}

/// The outcome of one load run.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// Latencies in microseconds.
    pub latencies: Histogram<u64>,
    /// Responses by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no HTTP response (connection refused, reset, …).
    pub io_errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl RunStats {
    /// An empty result.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latencies: new_histogram()?,
            statuses: BTreeMap::new(),
            io_errors: 0,
            elapsed: Duration::ZERO,
        })
    }

    /// Adds another connection's counts; the elapsed time is set by the caller.
    pub fn merge(&mut self, other: &Self) -> anyhow::Result<()> {
        self.latencies
            .add(&other.latencies)
            .map_err(|e| anyhow::anyhow!("Failed to merge latency histograms: {e:?}"))?;
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
        self.io_errors += other.io_errors;
        Ok(())
    }

    /// Every answered or failed request.
    pub fn total(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.io_errors
    }

    /// Responses with this status.
    pub fn status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Requests that did not get a 200.
    pub fn errors(&self) -> u64 {
        self.total() - self.status(200)
    }

    /// Successful (200) requests per second.
    pub fn ok_per_second(&self) -> f64 {
        per_second(self.status(200), self.elapsed)
    }

    /// The latency at `quantile` (0–1), in milliseconds.
    pub fn percentile_ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// `200: 10, 401: 3` — for the flood's answers.
    pub fn status_summary(&self) -> String {
        let mut out = self
            .statuses
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        if self.io_errors > 0 {
            if !out.is_empty() {
                out.push_str(", ");
            }
            let _ = write!(out, "no response: {}", self.io_errors);
        }
        out
    }
}

/// `count / elapsed`, zero for an empty interval.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// One line of the results table. Empty strings print as `–`.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// ES256, RS256, EdDSA, or `any` for the RSS scenario.
    pub algorithm: String,
    /// What was measured.
    pub scenario: String,
    /// Throughput column.
    pub throughput: String,
    /// Median latency.
    pub p50: String,
    /// 99th percentile latency.
    pub p99: String,
    /// Errors column.
    pub errors: String,
    /// Ratio to the floor or to the no-flood run.
    pub ratio: String,
    /// The target this row is judged against.
    pub target: String,
    /// `yes`, `**no**`, or empty when there is no target.
    pub met: String,
}

impl Row {
    /// A row for a load run: throughput, p50, p99 and errors filled in.
    pub fn measured(algorithm: &str, scenario: &str, stats: &RunStats) -> Self {
        Self {
            algorithm: algorithm.to_owned(),
            scenario: scenario.to_owned(),
            throughput: format_rate(stats.ok_per_second()),
            p50: format_ms(stats.percentile_ms(0.50)),
            p99: format_ms(stats.percentile_ms(0.99)),
            errors: stats.errors().to_string(),
            ..Self::default()
        }
    }

    /// Sets the target and whether it was met.
    pub fn judged(mut self, target: &str, met: bool) -> Self {
        self.target = target.to_owned();
        self.met = if met { "yes" } else { "**no**" }.to_owned();
        self
    }

    /// Sets the ratio column.
    pub fn with_ratio(mut self, ratio: f64) -> Self {
        self.ratio = format_ratio(ratio);
        self
    }
}

/// `12,345` for a rate; decimals only where they matter.
pub fn format_rate(rate: f64) -> String {
    if rate >= 100.0 {
        group_thousands(rate.round() as u64)
    } else {
        format!("{rate:.1}")
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with precision suited to the magnitude.
pub fn format_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A ratio as a percentage: `0.873` → `87.3%`.
pub fn format_ratio(ratio: f64) -> String {
    if ratio.is_finite() {
        if ratio < 0.001 {
            format!("{:.3}%", ratio * 100.0)
        } else {
            format!("{:.1}%", ratio * 100.0)
        }
    } else {
        "–".to_owned()
    }
}

/// The Markdown table of `rows`.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| algorithm | scenario | req/s | p50 | p99 | errors | ratio | target | met? |\n\
         |---|---|---:|---:|---:|---:|---:|---|---|\n",
    );
    let cell = |s: &str| {
        if s.is_empty() {
            "–".to_owned()
        } else {
            s.replace('|', "\\|")
        }
    };
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&row.algorithm),
            cell(&row.scenario),
            cell(&row.throughput),
            cell(&row.p50),
            cell(&row.p99),
            cell(&row.errors),
            cell(&row.ratio),
            cell(&row.target),
            cell(&row.met),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_with(latencies_us: &[u64], statuses: &[(u16, u64)], seconds: u64) -> RunStats {
        let mut stats = RunStats::new().unwrap();
        for &l in latencies_us {
            stats.latencies.record(l).unwrap();
        }
        stats.statuses = statuses.iter().copied().collect();
        stats.elapsed = Duration::from_secs(seconds);
        stats
    }

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let latencies: Vec<u64> = (1..=1000).collect();
        let stats = stats_with(&latencies, &[(200, 1000)], 1);
        assert!((stats.percentile_ms(0.5) - 0.5).abs() < 0.001);
        assert!((stats.percentile_ms(0.99) - 0.99).abs() < 0.001);
    }

    #[test]
    fn throughput_counts_only_successes_and_errors_count_the_rest() {
        let mut stats = stats_with(&[100], &[(200, 900), (401, 60), (429, 40)], 2);
        stats.io_errors = 5;
        assert!((stats.ok_per_second() - 450.0).abs() < f64::EPSILON);
        assert_eq!(stats.errors(), 105);
        assert_eq!(stats.total(), 1005);
        assert_eq!(
            stats.status_summary(),
            "200: 900, 401: 60, 429: 40, no response: 5"
        );
    }

    #[test]
    fn merging_adds_counts_and_latencies() {
        let mut a = stats_with(&[100, 200], &[(200, 2)], 1);
        let b = stats_with(&[300], &[(200, 1), (401, 1)], 1);
        a.merge(&b).unwrap();
        assert_eq!(a.latencies.len(), 3);
        assert_eq!(a.status(200), 3);
        assert_eq!(a.status(401), 1);
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(format_rate(12_345.4), "12,345");
        assert_eq!(format_rate(1_234_567.0), "1,234,567");
        assert_eq!(format_rate(999.0), "999");
        assert_eq!(format_rate(61.26), "61.3");
        assert_eq!(format_ms(0.4123), "0.41 ms");
        assert_eq!(format_ms(12.34), "12.3 ms");
        assert_eq!(format_ms(1234.0), "1234 ms");
        assert_eq!(format_ratio(0.8734), "87.3%");
        assert_eq!(format_ratio(0.000_42), "0.042%");
        assert_eq!(format_ratio(f64::NAN), "–");
    }

    #[test]
    fn table_has_a_header_and_one_line_per_row() {
        let stats = stats_with(&[500], &[(200, 10)], 1);
        let rows = vec![
            Row::measured("ES256", "floor, max", &stats),
            Row::measured("ES256", "cached, 1 client", &stats)
                .with_ratio(0.9)
                .judged("≥ 80% of floor", true),
        ];
        let table = markdown_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("| algorithm | scenario | req/s |"));
        assert_eq!(
            lines[3],
            "| ES256 | cached, 1 client | 10.0 | 0.50 ms | 0.50 ms | 0 | 90.0% | ≥ 80% of floor | yes |"
        );
        assert!(lines[2].contains("| – | – | –"));
    }
}
