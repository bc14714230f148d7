import CSndFile

/// The sample encoding of a written file.
public enum SampleEncoding: String, Sendable, CaseIterable {
    /// 16-bit signed integer PCM.
    case pcm16 = "16"
    /// 24-bit signed integer PCM.
    case pcm24 = "24"
    /// 32-bit IEEE float.
    case float32 = "32f"

    /// Integer bit depth, or nil for float.
    public var integerBits: Int? {
        switch self {
        case .pcm16: 16
        case .pcm24: 24
        case .float32: nil
        }
    }
}

/// A container that Vox writes.
public enum AudioContainer: String, Sendable, CaseIterable {
    case wav, flac

    /// The container implied by a path's extension (`.wav`, `.flac`), if any.
    public init?(pathExtensionOf path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        self.init(rawValue: name[name.index(after: dot)...].lowercased())
    }
}

/// What a writer produces: a container plus a sample encoding.
public struct AudioFileFormat: Equatable, Sendable {
    public var container: AudioContainer
    public var encoding: SampleEncoding

    /// Checks that the container can hold the encoding (FLAC holds integer PCM only).
    public init(container: AudioContainer, encoding: SampleEncoding) throws {
        if container == .flac && encoding == .float32 {
            throw AudioError(.unsupportedFormat, "FLAC stores integer PCM only; use --bits 16 or 24, or a .wav output")
        }
        self.container = container
        self.encoding = encoding
    }

    /// Bytes per frame of sample data for `channelCount` channels.
    func bytesPerFrame(channelCount: Int) -> Int64 {
        Int64(channelCount) * Int64(encoding == .pcm16 ? 2 : encoding == .pcm24 ? 3 : 4)
    }

    /// libsndfile's format code; `largeWAV` selects RF64, the 64-bit WAV for data over 4 GiB.
    func sndfileFormat(largeWAV: Bool = false) -> Int32 {
        let major: Int32 = container == .flac ? Int32(SF_FORMAT_FLAC) : largeWAV ? Int32(SF_FORMAT_RF64) : Int32(SF_FORMAT_WAV)
        let minor: Int32
        switch encoding {
        case .pcm16: minor = Int32(SF_FORMAT_PCM_16)
        case .pcm24: minor = Int32(SF_FORMAT_PCM_24)
        case .float32: minor = Int32(SF_FORMAT_FLOAT)
        }
        return major | minor
    }
}

/// What a file on disk holds, as read from its header.
public struct AudioFileInfo: Equatable, Sendable {
    /// The file's path.
    public var path: String
    /// Container name, e.g. "WAV", "FLAC", "OGG", "MP3".
    public var container: String
    /// Codec or sample encoding, e.g. "PCM 16-bit", "Vorbis", "Opus", "MPEG Layer III".
    public var codec: String
    /// Frames per second (Hz).
    public var sampleRate: Int
    public var channelCount: Int
    /// Frames declared by the header (exact for PCM and FLAC; an estimate for some compressed streams).
    public var frameCount: Int64
    /// Integer bit depth of lossless PCM data, nil for float and lossy codecs.
    public var integerBits: Int?
    /// True for IEEE float sample data.
    public var isFloat: Bool
    /// True for lossy codecs (MP3, Vorbis, Opus).
    public var isLossy: Bool

    /// Duration in seconds.
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    init(path: String, sfInfo: SF_INFO) {
        let major = Int(sfInfo.format) & Int(SF_FORMAT_TYPEMASK)
        let minor = Int(sfInfo.format) & Int(SF_FORMAT_SUBMASK)
        self.path = path
        container = AudioFileInfo.containerNames[major] ?? "type 0x" + String(major, radix: 16)
        codec = AudioFileInfo.codecNames[minor] ?? "subtype 0x" + String(minor, radix: 16)
        sampleRate = Int(sfInfo.samplerate)
        channelCount = Int(sfInfo.channels)
        frameCount = Int64(sfInfo.frames)
        integerBits = AudioFileInfo.integerBitsBySubtype[minor]
        isFloat = minor == Int(SF_FORMAT_FLOAT) || minor == Int(SF_FORMAT_DOUBLE)
        isLossy = [Int(SF_FORMAT_VORBIS), Int(SF_FORMAT_OPUS), Int(SF_FORMAT_MPEG_LAYER_I),
                   Int(SF_FORMAT_MPEG_LAYER_II), Int(SF_FORMAT_MPEG_LAYER_III)].contains(minor)
    }

    static let containerNames: [Int: String] = [
        Int(SF_FORMAT_WAV): "WAV", Int(SF_FORMAT_WAVEX): "WAV (extensible)", Int(SF_FORMAT_RF64): "RF64",
        Int(SF_FORMAT_AIFF): "AIFF", Int(SF_FORMAT_AU): "AU", Int(SF_FORMAT_RAW): "RAW",
        Int(SF_FORMAT_W64): "W64", Int(SF_FORMAT_CAF): "CAF", Int(SF_FORMAT_FLAC): "FLAC",
        Int(SF_FORMAT_OGG): "OGG", Int(SF_FORMAT_MPEG): "MP3",
    ]

    static let codecNames: [Int: String] = [
        Int(SF_FORMAT_PCM_S8): "PCM 8-bit", Int(SF_FORMAT_PCM_U8): "PCM 8-bit unsigned",
        Int(SF_FORMAT_PCM_16): "PCM 16-bit", Int(SF_FORMAT_PCM_24): "PCM 24-bit",
        Int(SF_FORMAT_PCM_32): "PCM 32-bit", Int(SF_FORMAT_FLOAT): "float 32-bit",
        Int(SF_FORMAT_DOUBLE): "float 64-bit", Int(SF_FORMAT_ULAW): "u-law", Int(SF_FORMAT_ALAW): "A-law",
        Int(SF_FORMAT_VORBIS): "Vorbis", Int(SF_FORMAT_OPUS): "Opus",
        Int(SF_FORMAT_MPEG_LAYER_I): "MPEG Layer I", Int(SF_FORMAT_MPEG_LAYER_II): "MPEG Layer II",
        Int(SF_FORMAT_MPEG_LAYER_III): "MPEG Layer III",
    ]

    static let integerBitsBySubtype: [Int: Int] = [
        Int(SF_FORMAT_PCM_S8): 8, Int(SF_FORMAT_PCM_U8): 8, Int(SF_FORMAT_PCM_16): 16,
        Int(SF_FORMAT_PCM_24): 24, Int(SF_FORMAT_PCM_32): 32,
    ]
}
