import Foundation
import VoxAudio

/// Where installed models live: `$VOX_MODELS` if set, else `~/.local/share/vox/models`; one `NAME.voxmodel` each.
public enum ModelStore {
    /// The model folder.
    public static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["VOX_MODELS"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/vox/models").path
    }

    /// The path of model `name`.
    public static func path(for name: String) -> String { directory + "/" + name + ".voxmodel" }

    /// Installed model names.
    public static func installed() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".voxmodel") }.map { String($0.dropLast(".voxmodel".count)) }.sorted()
    }

    /// Loads model `name` (or a path to a `.voxmodel` file).
    /// - Throws: a `.fileNotFound` error that says how to install it.
    public static func load(_ nameOrPath: String) throws -> (model: VoxModelFile, path: String) {
        let path = nameOrPath.hasSuffix(".voxmodel") ? nameOrPath : self.path(for: nameOrPath)
        guard FileManager.default.fileExists(atPath: path) else {
            throw AudioError(.fileNotFound, path: path,
                             "model '\(nameOrPath)' is not installed; run `bash tools/setup.sh` (it installs spleeter-2stems), or use --model classic")
        }
        return (try VoxModelFile.read(path: path), path)
    }
}
