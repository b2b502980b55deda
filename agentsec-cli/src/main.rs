//! The `agentsec` command line.

fn main() {
    println!("agentsec {}", env!("CARGO_PKG_VERSION"));
}
