//! The soak's flatness rule (see the test's module doc).

use super::{FLAT_FLOOR_KIB, FLAT_FRACTION};

/// The flatness rule (see the module's doc): over the samples `(seconds, KiB)`
/// with `t ≥ end − window`, the least-squares line's rise across the window, in
/// KiB, and the window's mean RSS, in KiB. `None` with fewer than three samples.
pub fn growth_over(samples: &[(f64, u64)], end: f64, window: f64) -> Option<(f64, f64)> {
    let pts: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(t, _)| *t >= end - window)
        .map(|(t, r)| (*t, *r as f64))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let n = pts.len() as f64;
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let mr = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - mr)).sum();
    Some((sxy / sxx * window, mr))
}

/// Whether the samples are flat over the last `window` before `end`: the rise
/// from [`growth_over`] at most [`FLAT_FRACTION`] of the mean or
/// [`FLAT_FLOOR_KIB`], whichever is larger. `Err` says by how much it failed.
pub fn flat_over(samples: &[(f64, u64)], end: f64, window: f64) -> Result<(f64, f64), String> {
    let (rise, mean) = growth_over(samples, end, window).ok_or("fewer than three samples")?;
    let allowed = (mean * FLAT_FRACTION).max(FLAT_FLOOR_KIB);
    if rise <= allowed {
        Ok((rise, allowed))
    } else {
        Err(format!(
            "RSS rose {:.1} MiB over the last {window:.0} s (fitted), more than {:.1} MiB allowed (mean {:.1} MiB)",
            rise / 1024.0,
            allowed / 1024.0,
            mean / 1024.0
        ))
    }
}

#[test]
fn the_flatness_rule_fails_on_growth_and_passes_noise() {
    // 60 MiB with ±3 MiB of noise: flat.
    let noisy: Vec<(f64, u64)> = (0..=24)
        .map(|i| (i as f64 * 5.0, 60 * 1024 + if i % 2 == 0 { 3 * 1024 } else { 0 }))
        .collect();
    assert!(flat_over(&noisy, 120.0, 60.0).is_ok());
    // The in-process soak's growth, about 50 MiB a minute: not flat.
    let leak: Vec<(f64, u64)> = (0..=60).map(|i| (i as f64 * 5.0, 98 * 1024 + i * 4300)).collect();
    let e = flat_over(&leak, 300.0, 60.0).unwrap_err();
    assert!(e.contains("RSS rose"), "{e}");
    // A slow leak of 10 MiB a minute at 60 MiB: over 10 %, not flat.
    let slow: Vec<(f64, u64)> = (0..=12).map(|i| (i as f64 * 5.0, 60 * 1024 + i * 853)).collect();
    assert!(flat_over(&slow, 60.0, 60.0).is_err());
    // Growth before the window does not count.
    let warm: Vec<(f64, u64)> = (0..=24)
        .map(|i| (i as f64 * 5.0, if i < 10 { 20 * 1024 + i * 4096 } else { 60 * 1024 }))
        .collect();
    assert!(flat_over(&warm, 120.0, 60.0).is_ok());
    assert!(growth_over(&warm[..2], 10.0, 60.0).is_none());
}
