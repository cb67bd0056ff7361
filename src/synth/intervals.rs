//! Sorted, disjoint hour intervals `[a, b)` (a relay's presence) and the edits the events make
//! to them.

/// Sorted, disjoint hour intervals [a, b).
pub type Intervals = Vec<(i64, i64)>;

pub fn interval_contains(iv: &[(i64, i64)], h: i64) -> bool {
    let n = iv.partition_point(|x| x.0 <= h);
    n > 0 && h < iv[n - 1].1
}

/// Sets hours [a, b) present (merging intervals).
pub fn force_up(iv: &mut Vec<(i64, i64)>, a: i64, b: i64) {
    if a >= b {
        return;
    }
    iv.push((a, b));
    iv.sort();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(iv.len());
    for &(x, y) in iv.iter() {
        match out.last_mut() {
            Some(last) if x <= last.1 => last.1 = last.1.max(y),
            _ => out.push((x, y)),
        }
    }
    *iv = out;
}

/// Sets hours [a, b) absent.
pub fn force_down(iv: &mut Vec<(i64, i64)>, a: i64, b: i64) {
    let mut out = Vec::with_capacity(iv.len() + 1);
    for &(x, y) in iv.iter() {
        if y <= a || x >= b {
            out.push((x, y));
        } else {
            if x < a {
                out.push((x, a));
            }
            if y > b {
                out.push((b, y));
            }
        }
    }
    *iv = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_edits() {
        let mut iv = vec![(0, 5), (8, 10)];
        force_up(&mut iv, 4, 9);
        assert_eq!(iv, vec![(0, 10)]);
        force_down(&mut iv, 3, 6);
        assert_eq!(iv, vec![(0, 3), (6, 10)]);
        assert!(
            interval_contains(&iv, 6) && !interval_contains(&iv, 3) && !interval_contains(&iv, 10)
        );
    }
}
