import CSndFile
import Foundation

/// Reads an audio file block by block through libsndfile (WAV, AIFF, FLAC, OGG/Vorbis, Opus, MP3, …).
///
/// Memory stays bounded: `read(maxFrames:)` returns at most that many frames at a time, so hours of audio can be
/// processed in fixed memory. Integer PCM is read as integers and scaled by 2⁻³¹, so 16- and 24-bit data come back
/// bit-exact as `sample / 2^(bits-1)`. Float data is checked for NaN and infinities, and a file that ends before its
/// header says it should is reported as truncated.
public final class AudioFileReader {
    /// The path that was opened.
    public let path: String
    /// The header's description of the file.
    public let info: AudioFileInfo
    /// Frames delivered so far.
    public private(set) var framesRead: Int64 = 0
    /// Tags and key/value fields stored in the file (empty when there are none).
    public let metadata: AudioMetadata

    private var handle: OpaquePointer?
    private let readsIntegers: Bool
    private var intScratch: [Int32] = []
    private var floatScratch: [Float] = []

    /// Opens `path` for reading.
    ///
    /// - Throws: `AudioError` with kind `.fileNotFound`, `.notAudio`, `.unsupportedFormat`, `.corrupt` or
    ///   `.empty` (a file with zero frames), each naming the file.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AudioError(.fileNotFound, path: path, "no such file")
        }
        if isDirectory.boolValue { throw AudioError(.notAudio, path: path, "is a directory, not an audio file") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw AudioError(.io, path: path, "permission denied")
        }
        var sfInfo = SF_INFO()
        guard let h = sf_open(path, Int32(SFM_READ), &sfInfo) else {
            throw AudioFileReader.openError(path: path)
        }
        handle = h
        info = AudioFileInfo(path: path, sfInfo: sfInfo)
        metadata = AudioMetadata.read(from: h, container: info.container)
        readsIntegers = info.integerBits != nil
        if info.channelCount < 1 || info.sampleRate < 1 {
            sf_close(h)
            handle = nil
            throw AudioError(.corrupt, path: path, "header declares \(info.channelCount) channels at \(info.sampleRate) Hz")
        }
        if let shortfall = AudioFileReader.truncatedDataChunk(h) {
            sf_close(h)
            handle = nil
            throw AudioError(.truncated, path: path, "file is truncated: header declares \(shortfall.declared) bytes of audio data, only \(shortfall.present) are present")
        }
        if info.frameCount <= 0 {
            sf_close(h)
            handle = nil
            throw AudioError(.empty, path: path, "contains no audio (0 frames)")
        }
    }

    deinit { close() }

    /// Releases the file. Further reads return nil.
    public func close() {
        if let h = handle { sf_close(h) }
        handle = nil
    }

    /// Reads up to `maxFrames` frames; returns nil at the end of the file.
    ///
    /// - Throws: `.corrupt` when the decoder fails, `.truncated` when the data ends before the header's frame count
    ///   (exact-length formats), `.nonFinite` for NaN or infinite samples.
    public func read(maxFrames: Int) throws -> AudioBuffer? {
        guard let h = handle, maxFrames > 0 else { return nil }
        let cc = info.channelCount
        let want = maxFrames * cc
        var got = 0
        var buffer: AudioBuffer?
        if floatScratch.count < want { floatScratch = [Float](repeating: 0, count: want) }
        if readsIntegers {
            if intScratch.count < want { intScratch = [Int32](repeating: 0, count: want) }
            got = Int(intScratch.withUnsafeMutableBufferPointer { sf_readf_int(h, $0.baseAddress, sf_count_t(maxFrames)) })
            // Integer PCM arrives left-justified in 32 bits: scaling by 2^-31 is exact for 8/16/24-bit data.
            let n = max(0, got) * cc
            intScratch.withUnsafeBufferPointer { src in
                floatScratch.withUnsafeMutableBufferPointer { dst in
                    let scale: Float = 1.0 / 2147483648.0
                    for i in 0..<n { dst[i] = Float(src[i]) * scale }
                }
            }
        } else {
            got = Int(floatScratch.withUnsafeMutableBufferPointer { sf_readf_float(h, $0.baseAddress, sf_count_t(maxFrames)) })
        }
        let err = sf_error(h)
        if err != 0 {
            let msg = String(cString: sf_error_number(err))
            throw AudioError(.corrupt, path: path, "decoding failed after \(framesRead) frames: \(msg)")
        }
        if got > 0 {
            buffer = floatScratch.withUnsafeBufferPointer {
                AudioBuffer(interleaved: UnsafeBufferPointer(rebasing: $0[0..<(got * cc)]), channelCount: cc,
                            sampleRate: Double(info.sampleRate))
            }
        }
        if let b = buffer, info.isFloat, let bad = b.firstNonFinite() {
            let frame = framesRead + Int64(bad.frame)
            throw AudioError(.nonFinite, path: path,
                             "sample \(frame) of channel \(bad.channel + 1) is \(bad.value) (at \(formatTime(Double(frame) / Double(info.sampleRate))))")
        }
        framesRead += Int64(got)
        if got == 0 {
            if framesRead < info.frameCount && info.hasExactFrameCount {
                throw AudioError(.truncated, path: path,
                                 "file is truncated: header declares \(info.frameCount) frames, data ends after \(framesRead)")
            }
            if framesRead == 0 { throw AudioError(.empty, path: path, "contains no decodable audio") }
            close()
            return nil
        }
        return buffer
    }

    /// Reads the whole remaining file into memory. For long files prefer `read(maxFrames:)`.
    public func readAll(blockFrames: Int = 1 << 16) throws -> AudioBuffer {
        var out = AudioBuffer(frameCount: 0, channelCount: info.channelCount, sampleRate: Double(info.sampleRate))
        for c in 0..<out.channelCount { out.channels[c].reserveCapacity(Int(max(0, info.frameCount - framesRead))) }
        while let block = try read(maxFrames: blockFrames) { out.append(block) }
        return out
    }

    /// Reads a whole file.
    public static func read(path: String) throws -> AudioBuffer {
        try AudioFileReader(path: path).readAll()
    }

    /// libsndfile quietly shortens a WAV/AIFF whose data chunk runs past the end of the file, noting it in its
    /// log as `data : 40000 (should be 19956)`; this finds such a note.
    private static func truncatedDataChunk(_ h: OpaquePointer) -> (declared: Int, present: Int)? {
        var log = [CChar](repeating: 0, count: 8192)
        sf_command(h, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("data") || line.hasPrefix("SSND") {
            guard let open = line.range(of: "(should be ") else { continue }
            let declared = Int(line[line.index(after: line.firstIndex(of: ":")!)..<open.lowerBound].trimmingCharacters(in: .whitespaces))
            let present = Int(line[open.upperBound...].prefix { $0.isNumber })
            // 0xFFFFFFFF marks a stream whose length was unknown when written (ffmpeg to a pipe): not truncation.
            if let declared, let present, declared > present, declared < 0xFFFF_FF00 { return (declared, present) }
        }
        return nil
    }

    private static func openError(path: String) -> AudioError {
        let code = sf_error(nil)
        let text = String(cString: sf_strerror(nil))
        switch Int(code) {
        case Int(SF_ERR_UNRECOGNISED_FORMAT):
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            if size == 0 { return AudioError(.empty, path: path, "file is empty (0 bytes)") }
            return AudioError(.notAudio, path: path, "not a recognised audio file (\(text))")
        case Int(SF_ERR_UNSUPPORTED_ENCODING):
            return AudioError(.unsupportedFormat, path: path, "unsupported audio encoding (\(text))")
        case Int(SF_ERR_MALFORMED_FILE):
            return AudioError(.corrupt, path: path, "malformed or corrupt audio file (\(text))")
        default:
            return AudioError(.corrupt, path: path, "cannot open audio file: \(text)")
        }
    }
}

extension AudioFileInfo {
    /// True when the header's frame count is exact (PCM containers and FLAC), so a shorter stream is truncated.
    var hasExactFrameCount: Bool { !isLossy }
}

/// Formats seconds as `m:ss.mmm`.
public func formatTime(_ seconds: Double) -> String {
    let ms = Int((seconds * 1000).rounded())
    let m = ms / 60000, s = (ms / 1000) % 60, frac = ms % 1000
    return "\(m):" + (s < 10 ? "0" : "") + "\(s)." + String(repeating: "0", count: 3 - String(frac).count) + "\(frac)"
}
