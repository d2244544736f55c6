//! What is not a load: file sizes (raw, gzip -9, brotli 11 through Node's
//! zlib, as `scripts/precompress.mjs` does), and the SVG chart.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::{json, Value};

use crate::load::StreamRow;

/// Sizes of the hydrate bundle (`site/pkg/*.wasm`, `*.js`), the widget
/// (`site/widget/*`) and the binary. Files that are not there are said so.
pub fn sizes(site: &Path, binary: &Path) -> Value {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["pkg", "widget"] {
        if let Ok(rd) = std::fs::read_dir(site.join(dir)) {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.to_string_lossy();
                    (n.ends_with(".wasm") || n.ends_with(".js") || n.ends_with(".css")) && !n.contains(".map")
                })
                .collect();
            v.sort();
            files.extend(v);
        }
    }
    println!("\n### Sizes\n");
    println!("| file | plain | gzip -9 | brotli 11 |\n|---|---:|---:|---:|");
    let mut out = Vec::new();
    for f in &files {
        let raw = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        let (gz, br) = compressed(f).unwrap_or((0, 0));
        let name = f.strip_prefix(site).unwrap_or(f).display().to_string();
        println!(
            "| {name} | {} B | {} B | {} B |",
            crate::stats::count(raw as f64),
            crate::stats::count(gz as f64),
            crate::stats::count(br as f64)
        );
        out.push(json!({"file": name, "raw": raw, "gzip": gz, "brotli": br}));
    }
    if files.is_empty() {
        println!("| {} | not built (`make build` builds the site) | | |", site.display());
    }
    let bin = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    println!(
        "| {} (binary) | {} B | | |",
        binary.display(),
        crate::stats::count(bin as f64)
    );
    json!({"files": out, "binary": bin})
}

/// (gzip level 9, brotli quality 11) sizes through Node's zlib.
fn compressed(f: &Path) -> Option<(u64, u64)> {
    let script = "const z=require('zlib'),b=require('fs').readFileSync(process.argv[1]);\
        console.log(z.gzipSync(b,{level:9}).length, z.brotliCompressSync(b,{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length)";
    let o = std::process::Command::new("node")
        .args(["-e", script])
        .arg(f)
        .output()
        .ok()?;
    let s = String::from_utf8(o.stdout).ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse().ok());
    Some((it.next()??, it.next()??))
}

/// One colour per system, in turn.
const COLORS: [RGBColor; 6] = [
    RGBColor(0, 92, 175),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// The charts' axis ranges.
struct Bounds {
    /// Highest concurrency.
    cmax: f64,
    /// Top of the tokens/s axis.
    tmax: f64,
    /// Bottom and top of the first-token axis (log scale, ms).
    lmin: f64,
    lmax: f64,
}

impl Bounds {
    fn of(rows: &[StreamRow]) -> Bounds {
        let lmax = rows.iter().map(|r| r.ttft.p50).fold(1.0, f64::max) * 2.0;
        Bounds {
            cmax: rows.iter().map(|r| r.concurrency).max().unwrap_or(1) as f64,
            tmax: rows.iter().map(|r| r.tokens_per_s).fold(1.0, f64::max) * 1.1,
            lmin: rows
                .iter()
                .map(|r| r.ttft.p50)
                .filter(|x| *x > 0.0)
                .fold(lmax, f64::min)
                / 2.0,
            lmax,
        }
    }
}

/// Two panels against concurrency, one line per system: tokens/s delivered,
/// and time to first token p50 (log scale).
pub fn chart(rows: &[StreamRow], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(500);
    let mut systems: Vec<&str> = rows.iter().map(|r| r.system).collect();
    systems.sort();
    systems.dedup();
    let Bounds { cmax, tmax, lmin, lmax } = Bounds::of(rows);
    let colors = COLORS;
    let err = |e: DrawingAreaErrorKind<std::io::Error>| e.to_string();
    let mut a = ChartBuilder::on(&left)
        .caption("tokens/s delivered", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d((100f64..cmax * 1.2).log_scale(), 0f64..tmax)
        .map_err(err)?;
    a.configure_mesh()
        .x_desc("concurrent streams")
        .x_labels(4)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    let mut b = ChartBuilder::on(&right)
        .caption("time to first token, p50 (ms)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d((100f64..cmax * 1.2).log_scale(), (lmin..lmax).log_scale())
        .map_err(err)?;
    b.configure_mesh()
        .x_desc("concurrent streams")
        .x_labels(4)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    for (i, s) in systems.iter().enumerate() {
        let color = colors[i % colors.len()];
        let mine: Vec<&StreamRow> = rows.iter().filter(|r| r.system == *s).collect();
        let tps: Vec<(f64, f64)> = mine.iter().map(|r| (r.concurrency as f64, r.tokens_per_s)).collect();
        let ttft: Vec<(f64, f64)> = mine
            .iter()
            .filter(|r| r.ttft.p50 > 0.0)
            .map(|r| (r.concurrency as f64, r.ttft.p50))
            .collect();
        a.draw_series(LineSeries::new(tps.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(*s)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        a.draw_series(tps.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .map_err(err)?;
        b.draw_series(LineSeries::new(ttft.clone(), color.stroke_width(2)))
            .map_err(err)?;
        b.draw_series(ttft.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .map_err(err)?;
    }
    a.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(|e| e.to_string())
}
