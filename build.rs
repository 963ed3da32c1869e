//! Generates the protobuf types of `proto/ismld/v1/bus.proto` (prost) and their proto3
//! JSON mapping (pbjson), compiling the schema with protox: no protoc needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let fds = protox::compile(["ismld/v1/bus.proto"], ["proto"])?;
    let descriptors = out.join("descriptors.bin");
    std::fs::write(&descriptors, prost::Message::encode_to_vec(&fds))?;
    prost_build::Config::new()
        .extern_path(".google.protobuf.Any", "::pbjson_types::Any")
        .extern_path(".google.protobuf.Timestamp", "::pbjson_types::Timestamp")
        .compile_fds(fds)?;
    pbjson_build::Builder::new().register_descriptors(&std::fs::read(&descriptors)?)?.build(&[".ismld"])?;
    Ok(())
}
