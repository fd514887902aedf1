pub mod circulation;
