import ArgumentParser
import CMalloc
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
        subcommands: [InfoCommand.self, ConvertFormatCommand.self, SpectrogramCommand.self, SeparateCommand.self, ModelCommand.self]
    )

    static func main() {
        // Large DSP buffers are allocated and freed once per block or segment. glibc returns blocks over 128 KiB
        // to the kernel at once, and faulting fresh pages in again costs more than the arithmetic on them (about
        // 10 µs a page measured here); keeping freed memory in the heap lets the next block reuse it.
        mallopt(M_MMAP_THRESHOLD, 1 << 30)
        mallopt(M_TRIM_THRESHOLD, 1 << 30)
        main(nil)
    }
}

/// Options shared by commands that do long work.
struct ProgressOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "No progress bar.")
    var quiet = false
}
