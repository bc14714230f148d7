/// The toolkit's version, written into outputs' provenance and printed by `vox --version`.
public enum VoxVersion {
    public static let string = "0.1.0"
}
