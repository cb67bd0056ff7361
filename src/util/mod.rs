//! Small helpers shared by the analysis side (jobs, attribution, report) and kept below all
//! of them: [`stats`] (medians and the like), [`display`] (numbers, shares and times written
//! for people) and [`progress`] (progress bars on long steps).

pub mod display;
pub mod progress;
pub mod stats;
pub mod time;
