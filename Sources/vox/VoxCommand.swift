import ArgumentParser
import VoxAudio

@main
struct VoxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vox",
        abstract: "Stem separation, singing voice conversion and mixing for covers and remixes.",
        discussion: """
        Every command reads WAV, FLAC, AIFF, OGG/Vorbis, Opus and MP3, and writes WAV or FLAC. Outputs are written \
        to a temporary file and renamed when complete: a failed run leaves no partial file, and an input is never \
        overwritten.
        """,
        version: VoxVersion.string,
        subcommands: [InfoCommand.self, ConvertFormatCommand.self, SpectrogramCommand.self, SeparateCommand.self, ModelCommand.self,
                      WatermarkCommand.self, MixCommand.self, LoudnessCommand.self, AlignCommand.self,
                      PitchCommand.self, ResynthCommand.self, VoiceCommand.self, ConvertCommand.self, CoverCommand.self]
    )
}

/// Options shared by commands that do long work.
struct ProgressOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "No progress bar.")
    var quiet = false
}
