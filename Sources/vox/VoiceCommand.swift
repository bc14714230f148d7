import ArgumentParser
import Foundation
import VoxAudio

struct VoiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voice",
        abstract: "Train voice models (with the singer's consent) and inspect them.",
        subcommands: [VoiceTrainCommand.self, VoiceInfoCommand.self])
}

/// Audio files named on the command line, folders expanded (recursively, sorted) to the audio files they hold.
func expandAudioInputs(_ items: [String]) throws -> [String] {
    let audioExtensions: Set<String> = ["wav", "flac", "aif", "aiff", "ogg", "oga", "opus", "mp3"]
    var out = [String]()
    for item in items {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: item, isDirectory: &isDir) else {
            throw AudioError(.fileNotFound, path: item, "no such file or folder")
        }
        guard isDir.boolValue else { out.append(item); continue }
        let found = (FileManager.default.enumerator(atPath: item)?.allObjects as? [String] ?? [])
            .filter { audioExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
            .sorted()
            .map { URL(fileURLWithPath: item).appendingPathComponent($0).path }
        guard !found.isEmpty else { throw AudioError(.empty, path: item, "no audio files in this folder") }
        out += found
    }
    return out
}
