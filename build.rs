// The migrations are embedded by `sqlx::migrate!`: a changed or added one must rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
