//! bench/results.json, the generated part of BENCHMARKS.md (between its markers; the rest of
//! the file, such as the tuning log, is kept), and bench/chart.svg.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use crate::figures::{Figures, ReadsAtSize};
use crate::load::BoxError;

const START: &str = "<!-- bench:start (written by make bench) -->";
const END: &str = "<!-- bench:end -->";

/// The figures with a target, the target, and whether lower is better (all are).
const TARGETS: [(&str, &str, f64); 8] = [
    ("init_ratio_vs_hello", "≤ 1.5x hello world", 1.5),
    ("warm_p50_ratio_vs_bare_query", "≤ 1.15x bare calls", 1.15),
    (
        "per_cluster_warm_p50_ratio_vs_bare",
        "≤ 1.15x bare calls",
        1.15,
    ),
    (
        "worst_admitted_read_ms",
        "< 10 s (function timeout)",
        10_000.0,
    ),
    ("peak_rss_mb", "< 30 MB", 30.0),
    ("zip_mb", "< 4 MB", 4.0),
    ("read_cost_ratio_1m_vs_10k", "≤ 1.1x", 1.1),
    ("ingest_ratio_bare_vs_ours", "≤ 1.2x", 1.2),
];

fn command(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!(
        "{cpu}, {cores} cores, {memory:.0} GiB, {}; DynamoDB Local 3.3.0 in memory",
        command("uname", &["-sr"])
    )
}

pub fn write(root: &Path, figures: &Figures) -> Result<(), BoxError> {
    let commit = command("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !command("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let commit = if dirty {
        format!("{commit}+changes")
    } else {
        commit
    };
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let machine = machine();
    let results = json!({
        "commit": commit,
        "date": date,
        "machine": machine,
        "elapsed_s": figures.elapsed.as_secs(),
        "figures": figures.named(),
    });
    std::fs::write(
        root.join("bench/results.json"),
        serde_json::to_string_pretty(&results)? + "\n",
    )?;
    std::fs::write(root.join("bench/chart.svg"), chart(figures))?;

    let section = markdown(figures, &commit, &date, &machine);
    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = match (existing.find(START), existing.find(END)) {
        (Some(start), Some(end)) if start < end => format!(
            "{}{section}{}",
            &existing[..start],
            &existing[end + END.len()..]
        ),
        _ => format!("# Benchmarks\n\n{section}\n{existing}"),
    };
    std::fs::write(path, updated)?;
    Ok(())
}

fn value(figures: &Figures, name: &str) -> f64 {
    figures.named()[name]["value"].as_f64().unwrap_or(0.0)
}

fn markdown(figures: &Figures, commit: &str, date: &str, machine: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{START}");
    let _ = writeln!(
        out,
        "Run of `make bench` at commit `{commit}`, {date}, on {machine}; {} s in all.\n",
        figures.elapsed.as_secs()
    );
    let _ = writeln!(out, "| figure | value | target | met |\n|---|---|---|---|");
    for (name, figure) in figures.named() {
        let unit = figure["unit"].as_str().unwrap_or_default();
        let shown = format!("{} {unit}", figure["value"]);
        let (target, met) = match TARGETS.iter().find(|(n, _, _)| n == name) {
            Some((_, text, limit)) => (
                (*text).to_owned(),
                if value(figures, name) <= *limit {
                    "yes"
                } else {
                    "**no**"
                }
                .to_owned(),
            ),
            None => ("report".to_owned(), String::new()),
        };
        let _ = writeln!(out, "| `{name}` | {shown} | {target} | {met} |");
    }
    let _ = writeln!(
        out,
        "\nPer function (init: exec to the first `/runtime/invocation/next`, median of {}; first: exec to the first answer, median of {}; warm: {} invocations of one process):\n",
        crate::COLD_STARTS,
        crate::FIRST_INVOCATIONS,
        crate::WARM_INVOCATIONS
    );
    let _ = writeln!(
        out,
        "| function | init ms | first invocation ms | warm p50 ms | warm p99 ms | CPU µs/invocation | peak RSS MB | bootstrap MB | zip MB | 5xx or errors |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for (name, run) in figures.functions() {
        let (bootstrap, zip) = figures.packages().get(name).copied().unwrap_or((0, 0));
        let _ = writeln!(
            out,
            "| {name} | {:.1} | {:.1} | {:.2} | {:.2} | {:.0} | {:.1} | {:.2} | {:.2} | {} |",
            run.init.median_ms(),
            run.first.median_ms(),
            run.warm.latency.median_ms(),
            run.warm.latency.p99_ms(),
            run.warm.cpu_us_per_invocation,
            run.warm.peak_rss_mb,
            bootstrap as f64 / 1e6,
            zip as f64 / 1e6,
            run.warm.failed
        );
    }
    let hello = figures.named()["init_ms"]["detail"]["hello world"].clone();
    let _ = writeln!(
        out,
        "\nHello world (`bench/src/bin/hello.rs`, same profile): init {hello} ms.\n"
    );
    let _ = writeln!(
        out,
        "Read cost (RCU, eventually consistent unless the route needs consistency) and in-process latency against table size:\n"
    );
    let mut kinds: Vec<&str> = Vec::new();
    for size in &figures.sizes {
        if !kinds.contains(&size.kind) {
            kinds.push(size.kind);
        }
    }
    for kind in kinds {
        let sizes: Vec<_> = figures.sizes.iter().filter(|s| s.kind == kind).collect();
        let header: Vec<String> = sizes
            .iter()
            .map(|s| match s.in_one_cluster {
                Some(cluster) => format!("{cluster} logs of one cluster ({} in all)", s.stored),
                None => format!("{} logs", s.stored),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {kind} read | {} |\n|---|{}",
            header.join(" | "),
            "---|".repeat(header.len())
        );
        for name in row_names(&sizes) {
            let cells: Vec<String> = sizes
                .iter()
                .map(|s| {
                    s.reads
                        .iter()
                        .find(|r| r.name == name)
                        .map_or("-".into(), |r| {
                            format!(
                                "{:.1} RCU, {:.1} ms",
                                r.consumed.read_units,
                                crate::millis(r.elapsed)
                            )
                        })
                })
                .collect();
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "![read cost and latency against table size](bench/chart.svg)\n"
    );
    let _ = writeln!(out, "Details of every figure: `bench/results.json`.");
    let _ = writeln!(out, "{END}");
    out
}

/// Every read measured at any size, each placed after the read measured before it at that size
/// (and after the other sizes' rows there). A read the budget refuses at one size (a 400) is
/// named apart, so it gets its own row instead of a blank cell.
fn row_names(sizes: &[&ReadsAtSize]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for size in sizes {
        let mut at = 0;
        for read in &size.reads {
            match names.iter().position(|name| *name == read.name) {
                Some(found) => at = found + 1,
                None => {
                    // After the rows of other sizes that follow the previous read, too.
                    while names
                        .get(at)
                        .is_some_and(|name| size.reads.iter().all(|r| r.name != *name))
                    {
                        at += 1;
                    }
                    names.insert(at, read.name);
                    at += 1;
                }
            }
        }
    }
    names
}

/// What a chart panel plots of one read.
type Metric = dyn Fn(&devtools::reads::Read) -> f64;

/// Two panels: read units and latency of each system-log read against the number of logs.
fn chart(figures: &Figures) -> String {
    let sizes: Vec<_> = figures
        .sizes
        .iter()
        .filter(|s| s.kind == "system")
        .collect();
    let names: Vec<&str> = sizes
        .first()
        .map(|s| s.reads.iter().map(|r| r.name).collect())
        .unwrap_or_default();
    let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf",
    ];
    let (width, height, panel, top, left) = (980.0, 520.0, 380.0, 40.0, 60.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let panels: [(&str, &Metric); 2] = [
        ("read units (RCU)", &|r| r.consumed.read_units),
        ("latency (ms, in process)", &|r| crate::millis(r.elapsed)),
    ];
    for (p, (title, metric)) in panels.iter().enumerate() {
        let x0 = left + p as f64 * (panel + 80.0);
        let max = sizes
            .iter()
            .flat_map(|s| s.reads.iter().map(metric))
            .fold(1.0, f64::max)
            * 1.1;
        let _ = writeln!(
            svg,
            "<text x=\"{x0}\" y=\"20\" font-size=\"13\">{title} against system logs stored</text>"
        );
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
            top + panel,
            x0 + panel,
            top + panel
        );
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{top}\" x2=\"{x0}\" y2=\"{}\" stroke=\"black\"/>",
            top + panel
        );
        for tick in 0..=4 {
            let v = max * tick as f64 / 4.0;
            let y = top + panel - panel * tick as f64 / 4.0;
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{y}\" text-anchor=\"end\">{v:.0}</text>",
                x0 - 4.0
            );
        }
        let x_of =
            |i: usize| x0 + 20.0 + (panel - 40.0) * i as f64 / (sizes.len().max(2) - 1) as f64;
        for (i, size) in sizes.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x_of(i),
                top + panel + 14.0,
                size.stored
            );
        }
        for (n, name) in names.iter().enumerate() {
            let points: Vec<String> = sizes
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let read = s.reads.iter().find(|r| r.name == *name)?;
                    Some(format!(
                        "{:.1},{:.1}",
                        x_of(i),
                        top + panel - panel * metric(read) / max
                    ))
                })
                .collect();
            let color = colors[n % colors.len()];
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
                points.join(" ")
            );
        }
    }
    for (n, name) in names.iter().enumerate() {
        let color = colors[n % colors.len()];
        let y = top + panel + 34.0 + 12.0 * (n / 2) as f64;
        let x = left + (n % 2) as f64 * 460.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            y - 9.0,
            x + 14.0,
            y,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use devtools::reads::Read;

    use super::*;

    fn size(names: &[&'static str]) -> ReadsAtSize {
        ReadsAtSize {
            kind: "cluster",
            stored: 1,
            in_one_cluster: None,
            reads: names
                .iter()
                .map(|&name| Read {
                    name,
                    consumed: Default::default(),
                    elapsed: Duration::ZERO,
                })
                .collect(),
        }
    }

    #[test]
    fn a_read_refused_at_the_larger_size_only_has_its_own_row_where_it_was_measured() {
        let small = size(&["first page", "search (counts by reading)", "by id"]);
        let large = size(&["first page", "search: past the read budget (400)", "by id"]);
        assert_eq!(
            row_names(&[&small, &large]),
            [
                "first page",
                "search (counts by reading)",
                "search: past the read budget (400)",
                "by id"
            ]
        );
    }
}
