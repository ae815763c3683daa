//! Numbers for people, the same in every table, chart and page: metric values to four
//! significant digits, counts with thousands separators, sizes (parameters, FLOPs, samples) with
//! SI prefixes, pass rates as percentages.

/// A metric value to four significant digits (`0.1235`, `17.00`, `1.500e-5`); "—" for a value
/// that is not a number.
pub fn metric(x: f64) -> String {
    if !x.is_finite() {
        "—".to_string()
    } else if x == 0.0 {
        "0.000".to_string()
    } else if x.abs() >= 1e-3 && x.abs() < 1e6 {
        let magnitude = x.abs().log10().floor() as i32;
        let digits = (3 - magnitude).clamp(0, 6) as usize;
        let s = format!("{x:.digits$}");
        // Rounding can carry into a new digit (9.99996 → "10.0000"): one digit fewer after the point.
        let carried = s.parse::<f64>().is_ok_and(|r| r.abs() >= 10f64.powi(magnitude + 1));
        if carried && digits > 0 {
            let digits = digits - 1;
            format!("{x:.digits$}")
        } else {
            s
        }
    } else {
        format!("{x:.3e}")
    }
}

/// A difference with its sign, four significant digits: `+0.01234`, `-1.500`.
pub fn signed(x: f64) -> String {
    let s = metric(x);
    if x.is_finite() && x >= 0.0 { format!("+{s}") } else { s }
}

/// A count with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size with an SI prefix and three significant digits, trailing zeros dropped: `324 k`,
/// `9.6 k`, `1.25 T`, `812`. Values below 1 fall back to [`metric`].
pub fn si(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    const PREFIXES: [&str; 7] = ["", " k", " M", " G", " T", " P", " E"];
    let a = x.abs();
    if a < 1.0 {
        return metric(x);
    }
    let mut k = ((a.log10() / 3.0).floor() as usize).min(PREFIXES.len() - 1);
    let mut m = x / 1000f64.powi(k as i32);
    // 999.6 k rounds to "1000 k": say 1 M instead.
    if three_digits(m).trim_start_matches('-') == "1000" && k + 1 < PREFIXES.len() {
        k += 1;
        m = x / 1000f64.powi(k as i32);
    }
    format!("{}{}", three_digits(m), PREFIXES[k])
}

/// Three significant digits without trailing zeros (for mantissas in [1, 1000)).
fn three_digits(m: f64) -> String {
    let a = m.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{m:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A fraction as a whole percentage: `0.5` → `50%`; near the ends with as many decimals as it
/// takes not to round to 0% or 100% what is not (399 of 400 is `99.75%`, not `100%`).
pub fn percent(x: f64) -> String {
    percent_rounded(x, |p, decimals| format!("{p:.decimals$}").parse().unwrap_or(p))
}

/// An interval's bounds in percent, rounded outward at the fewest decimals that keep them off
/// 0% and 100% unless they are there: a lower bound of 49.947% reads 49%, never 50% (rounded,
/// "[50%, 52%]" hid that chance lay inside the interval).
pub fn percent_floor(x: f64) -> String {
    // A last-bit excess over a round value is no excess (57.000000000001% stays 57%).
    percent_rounded(x, |p, d| (p * 10f64.powi(d as i32) + 1e-7).floor() / 10f64.powi(d as i32))
}

/// See [`percent_floor`]: the upper bound, rounded up.
pub fn percent_ceil(x: f64) -> String {
    percent_rounded(x, |p, d| (p * 10f64.powi(d as i32) - 1e-7).ceil() / 10f64.powi(d as i32))
}

/// `x` in percent at the fewest decimals (up to 8) at which `round(percent, decimals)` is not
/// 0% or 100% unless `x` is; closer still, "<100%" or ">0%" (an upper bound of 0.99999981 was
/// printed "100.0000%").
fn percent_rounded(x: f64, round: impl Fn(f64, usize) -> f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let p = 100.0 * x;
    for decimals in 0..9 {
        let v = round(p, decimals);
        if (v == 0.0) == (p == 0.0) && (v == 100.0) == (p == 100.0) {
            return format!("{v:.decimals$}%");
        }
    }
    if p > 50.0 { "<100%".to_string() } else { ">0%".to_string() }
}

/// A small rate such as a learning rate, in short scientific notation: `3e-4`, `2.5e-3`.
pub fn rate(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let s = format!("{x:.2e}");
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
}

/// `10` followed by the exponent in superscript digits: `10¹²`, `10⁻³`.
pub fn power_of_ten(k: i32) -> String {
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::from("10");
    if k < 0 {
        s.push('⁻');
    }
    for d in k.unsigned_abs().to_string().bytes() {
        s.push(SUP[usize::from(d - b'0')]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values_have_four_significant_digits() {
        assert_eq!(metric(0.123456), "0.1235");
        assert_eq!(metric(17.0), "17.00");
        assert_eq!(metric(0.0), "0.000");
        assert_eq!(metric(1.5e-5), "1.500e-5");
        assert_eq!(metric(-0.25), "-0.2500");
        assert_eq!(metric(9.99996), "10.00", "a carry does not add a fifth digit");
        assert_eq!(metric(f64::NAN), "—");
        assert_eq!(signed(0.0123), "+0.01230");
        assert_eq!(signed(-1.5), "-1.500");
    }

    #[test]
    fn counts_and_sizes_read_like_people_write_them() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(si(3.2422e5), "324 k");
        assert_eq!(si(9.6e3), "9.6 k");
        assert_eq!(si(1.25e12), "1.25 T");
        assert_eq!(si(812.0), "812");
        assert_eq!(si(0.0), "0");
        assert_eq!(si(999_600.0), "1 M");
        assert_eq!(si(1e18), "1 E");
        assert_eq!(si(-2.5e6), "-2.5 M");
        assert_eq!(percent(0.5), "50%");
        // Bounds round outward: chance inside an interval stays inside it.
        assert_eq!((percent_floor(0.49947), percent_ceil(0.5201)), ("49%".into(), "53%".into()));
        assert_eq!(
            (percent_floor(0.57), percent_ceil(0.57), percent_ceil(0.999)),
            ("57%".into(), "57%".into(), "99.9%".into())
        );
        assert_eq!((percent_floor(0.0004), percent_floor(0.0)), ("0.04%".into(), "0%".into()));
        assert_eq!((percent(1.0), percent(0.0), percent(0.994)), ("100%".into(), "0%".into(), "99%".into()));
        assert_eq!(
            (percent(0.9976), percent(0.001), percent(0.999999)),
            ("99.8%".into(), "0.1%".into(), "99.9999%".into())
        );
        // Closer to 100% than four decimals show: more decimals, never "100.0000%".
        assert_eq!((percent_ceil(0.99999981), percent(1.0 - 1e-15)), ("99.99999%".into(), "<100%".into()));
        assert_eq!(rate(3e-4), "3e-4");
        assert_eq!(rate(2.5e-3), "2.5e-3");
        assert_eq!(power_of_ten(12), "10¹²");
        assert_eq!(power_of_ten(-3), "10⁻³");
    }
}
