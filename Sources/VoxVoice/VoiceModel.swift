import Foundation
import VoxAudio

/// Who agreed to their voice being modelled, to what, and when, with the statement they agreed to.
///
/// `statementSHA256` pins the statement's exact text: `isIntact` fails if either was edited. A voice model
/// cannot be created without one (`VoiceTrainer` refuses).
public struct ConsentRecord: Codable, Sendable, Equatable {
    /// The person who consented (the singer whose voice is modelled, or their legal representative).
    public var subject: String
    /// What they consented to (e.g. "training a voice model and converting performances with it").
    public var scope: String
    /// When they consented (ISO 8601 date or date-time, as given).
    public var date: String
    /// The consent statement, verbatim.
    public var statement: String
    /// SHA-256 (lowercase hex) of the statement's UTF-8 bytes.
    public var statementSHA256: String

    /// - Throws: `AudioError(.invalidArgument)` when the subject, scope, date or statement is empty.
    public init(subject: String, scope: String, date: String, statement: String) throws {
        let trim = { (s: String) in s.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard !trim(statement).isEmpty else { throw AudioError(.invalidArgument, "no consent statement: a voice model needs the singer's consent") }
        guard !trim(subject).isEmpty else { throw AudioError(.invalidArgument, "the consent record must name who consented") }
        guard !trim(scope).isEmpty else { throw AudioError(.invalidArgument, "the consent record must say what was consented to") }
        guard !trim(date).isEmpty else { throw AudioError(.invalidArgument, "the consent record must say when consent was given") }
        self.subject = subject
        self.scope = scope
        self.date = date
        self.statement = statement
        self.statementSHA256 = SHA256.hex(Data(statement.utf8))
    }

    /// Whether the statement still hashes to `statementSHA256`.
    public var isIntact: Bool { SHA256.hex(Data(statement.utf8)) == statementSHA256 }
}

/// Which audio a model was trained on: the SHA-256 of each file's bytes, and one hash over all of them.
public struct TrainingFingerprint: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// File name (no folders: the model must not leak local paths).
        public var name: String
        /// SHA-256 (hex) of the file's bytes.
        public var sha256: String
        /// Duration (s).
        public var seconds: Double
    }
    public var files: [File]
    /// SHA-256 of the sorted per-file hashes joined by newlines: the same set of recordings gives the same value
    /// whatever their names or order.
    public var combinedSHA256: String

    public init(files: [File]) {
        self.files = files
        combinedSHA256 = SHA256.hex(Data(files.map(\.sha256).sorted().joined(separator: "\n").utf8))
    }
}

/// Mean and standard deviation of cepstral coefficients over a set of frames (speaker normalisation).
public struct CepstralStatistics: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var standardDeviation: [Float]
    public var frameCount: Int

    /// Statistics of `count` rows of `order` values.
    public init(rows: UnsafeBufferPointer<Float>, order: Int) {
        let n = rows.count / order
        var mean = [Double](repeating: 0, count: order), sq = [Double](repeating: 0, count: order)
        for i in 0..<n {
            for m in 0..<order { let v = Double(rows[i * order + m]); mean[m] += v; sq[m] += v * v }
        }
        let d = Double(max(1, n))
        self.mean = mean.map { Float($0 / d) }
        standardDeviation = (0..<order).map { m in
            let mu = mean[m] / d
            return Float(max(1e-4, (sq[m] / d - mu * mu)).squareRoot())
        }
        frameCount = n
    }
}

/// A singer's F0 distribution (Hz) over their voiced frames.
public struct PitchRange: Codable, Sendable, Equatable {
    public var p1Hz: Double
    public var p5Hz: Double
    public var medianHz: Double
    public var p95Hz: Double
    public var p99Hz: Double

    /// Percentiles of the positive values of `f0`; nil when there are none.
    public init?(f0: [Float]) {
        let v = f0.filter { $0 > 0 }.map(Double.init).sorted()
        guard !v.isEmpty else { return nil }
        let q = { (p: Double) in v[min(v.count - 1, Int(p * Double(v.count - 1) + 0.5))] }
        p1Hz = q(0.01); p5Hz = q(0.05); medianHz = q(0.5); p95Hz = q(0.95); p99Hz = q(0.99)
    }
}

/// A trained voice: what conversion needs to render this timbre, the consent record, and which audio it came from.
///
/// The embedding is a frame bank in the spirit of kNN-VC (Baas et al. 2023) and RVC's retrieval index: mel-cepstra
/// (`MelCepstrum`) of the singer's voiced frames with their F0 and band aperiodicity, a smaller bank of unvoiced
/// (consonant) frames, the speaker-normalising statistics of both, and the F0 distribution. Frames are stored at the
/// training audio's analysis rate `sampleRate`; conversion analyses a take at that rate.
public struct VoiceModel: Sendable, Equatable {
    /// The voice's display name.
    public var name: String
    /// When the model was trained (ISO 8601).
    public var createdAt: String
    public var consent: ConsentRecord
    public var fingerprint: TrainingFingerprint
    /// The training audit (levels, pitch range, warnings) as it was printed at training time.
    public var audit: TrainingAudit
    /// Analysis rate (Hz) of the bank; conversion resamples takes to it.
    public var sampleRate: Double
    /// Frame period of the bank (s).
    public var framePeriod: Double
    /// Envelope FFT size at `sampleRate`.
    public var fftSize: Int
    /// Cepstral coefficients per frame (c0 included) and the mel points they were computed from.
    public var cepstrumOrder: Int
    public var melPointCount: Int
    /// Aperiodicity band centres (Hz) of `voicedAperiodicity`.
    public var aperiodicityFrequencies: [Double]
    /// The singer's F0 distribution.
    public var pitchRange: PitchRange
    /// Mean and standard deviation of ln F0 over voiced frames.
    public var logF0Mean: Float
    public var logF0StandardDeviation: Float
    /// Normalising statistics of the voiced and unvoiced banks.
    public var voicedStatistics: CepstralStatistics
    public var unvoicedStatistics: CepstralStatistics
    /// Voiced bank: cepstra (`count × cepstrumOrder`), ln F0 (`count`), band aperiodicity in dB
    /// (`count × aperiodicityFrequencies.count`).
    public var voicedCepstra: [Float]
    public var voicedLogF0: [Float]
    public var voicedAperiodicity: [Float]
    /// Unvoiced bank: cepstra (`count × cepstrumOrder`).
    public var unvoicedCepstra: [Float]

    public var voicedFrameCount: Int { voicedLogF0.count }
    public var unvoicedFrameCount: Int { unvoicedCepstra.count / max(1, cepstrumOrder) }
    public var bandCount: Int { aperiodicityFrequencies.count }
}

// MARK: - File format

/// The `.voxvoice` file format, version 1. All integers little-endian.
///
/// ```
/// offset  size  content
/// 0       8     magic "VOXVOICE"
/// 8       4     UInt32 format version (1)
/// 12      4     UInt32 header length H
/// 16      H     header: UTF-8 JSON (VoiceModelFile.Header: metadata, consent, fingerprint, audit, statistics,
///               and the payload's sections in order with their float counts)
/// 16+H    p     zero padding to a multiple of 4 bytes
/// …       4·N   payload: the sections' Float32 values back to back (N = sum of the section counts)
/// end-64  64    SHA-256 of every preceding byte, as lowercase hex ASCII
/// ```
/// Loading checks the magic, the version, the checksum (any edit of header or payload is refused) and the section
/// sizes before decoding; the payload is copied straight into arrays (no parsing), so a model loads in milliseconds.
public enum VoiceModelFile {
    public static let magic = Array("VOXVOICE".utf8)
    public static let version: UInt32 = 1
    static let checksumLength = 64

    struct Section: Codable { var name: String; var count: Int }

    struct Header: Codable {
        var name: String
        var createdAt: String
        var consent: ConsentRecord
        var fingerprint: TrainingFingerprint
        var audit: TrainingAudit
        var sampleRate: Double
        var framePeriod: Double
        var fftSize: Int
        var cepstrumOrder: Int
        var melPointCount: Int
        var aperiodicityFrequencies: [Double]
        var pitchRange: PitchRange
        var logF0Mean: Float
        var logF0StandardDeviation: Float
        var voicedStatistics: CepstralStatistics
        var unvoicedStatistics: CepstralStatistics
        var sections: [Section]
    }

    /// The file's bytes.
    public static func encode(_ model: VoiceModel) throws -> Data {
        let arrays: [(String, [Float])] = [("voicedCepstra", model.voicedCepstra), ("voicedLogF0", model.voicedLogF0),
                                          ("voicedAperiodicity", model.voicedAperiodicity),
                                          ("unvoicedCepstra", model.unvoicedCepstra)]
        let header = Header(name: model.name, createdAt: model.createdAt, consent: model.consent, fingerprint: model.fingerprint,
                            audit: model.audit, sampleRate: model.sampleRate, framePeriod: model.framePeriod,
                            fftSize: model.fftSize, cepstrumOrder: model.cepstrumOrder, melPointCount: model.melPointCount,
                            aperiodicityFrequencies: model.aperiodicityFrequencies, pitchRange: model.pitchRange,
                            logF0Mean: model.logF0Mean, logF0StandardDeviation: model.logF0StandardDeviation,
                            voicedStatistics: model.voicedStatistics, unvoicedStatistics: model.unvoicedStatistics,
                            sections: arrays.map { Section(name: $0.0, count: $0.1.count) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(header)
        var data = Data(magic)
        appendUInt32(&data, version)
        appendUInt32(&data, UInt32(json.count))
        data.append(json)
        while data.count % 4 != 0 { data.append(0) }
        for (_, values) in arrays {
            values.withUnsafeBufferPointer { b in
                // Float32 little-endian: the in-memory layout on every platform Swift on Linux runs on.
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                                count: b.count * 4))
            }
        }
        data.append(contentsOf: Array(SHA256.hex(data).utf8))
        return data
    }

    /// Writes `model` to `path` atomically (temporary file + rename).
    public static func write(_ model: VoiceModel, to path: String) throws {
        try OutputPath.writeAtomically(try encode(model), to: path)
    }

    /// Reads and verifies a model file.
    ///
    /// - Throws: `AudioError` `.fileNotFound`, or `.corrupt` for a file that is not a voice model, has an
    ///   unsupported version, fails its checksum (tampered or damaged) or has inconsistent sections.
    public static func read(path: String) throws -> VoiceModel {
        guard FileManager.default.fileExists(atPath: path) else { throw AudioError(.fileNotFound, path: path, "no such voice model") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw AudioError(.io, path: path, "cannot read: \(error.localizedDescription)")
        }
        do { return try decode(data) } catch let e as AudioError { throw AudioError(e.kind, path: path, e.message) }
    }

    /// Decodes and verifies a model file's bytes (see `read`).
    public static func decode(_ data: Data) throws -> VoiceModel {
        guard data.count >= 16 + checksumLength, Array(data.prefix(8)) == magic else {
            throw AudioError(.corrupt, "not a Vox voice model (.voxvoice)")
        }
        let version = readUInt32(data, at: 8)
        guard version == Self.version else {
            throw AudioError(.corrupt, "voice model format version \(version) is not supported (this Vox reads version \(Self.version))")
        }
        let body = data.prefix(data.count - checksumLength)
        let stored = String(decoding: data.suffix(checksumLength), as: UTF8.self)
        guard SHA256.hex(Data(body)) == stored else {
            throw AudioError(.corrupt, "checksum mismatch: the voice model was modified or damaged; refusing to use it")
        }
        let headerLength = Int(readUInt32(data, at: 12))
        guard 16 + headerLength <= body.count else { throw AudioError(.corrupt, "voice model header runs past the end of the file") }
        let header: Header
        do {
            let start = data.startIndex + 16
            header = try JSONDecoder().decode(Header.self, from: data[start..<(start + headerLength)])
        } catch { throw AudioError(.corrupt, "unreadable voice model header: \(error.localizedDescription)") }
        guard header.consent.isIntact else { throw AudioError(.corrupt, "the consent statement does not match its hash") }
        var offset = (16 + headerLength + 3) / 4 * 4
        let total = header.sections.reduce(0) { $0 + $1.count }
        guard header.sections.allSatisfy({ $0.count >= 0 }), offset + 4 * total == body.count else {
            throw AudioError(.corrupt, "voice model payload size does not match its header")
        }
        var arrays = [String: [Float]]()
        for s in header.sections {
            let start = data.startIndex + offset
            arrays[s.name] = [Float](unsafeUninitializedCapacity: s.count) { dst, n in
                data[start..<(start + 4 * s.count)].withUnsafeBytes { src in
                    UnsafeMutableRawBufferPointer(dst).copyMemory(from: src)
                }
                n = s.count
            }
            offset += 4 * s.count
        }
        let M = header.cepstrumOrder, B = header.aperiodicityFrequencies.count
        guard M >= 2, header.melPointCount >= M, header.sampleRate >= 8000, header.framePeriod > 0, header.fftSize >= 64,
              let vc = arrays["voicedCepstra"], let lf = arrays["voicedLogF0"], let ap = arrays["voicedAperiodicity"],
              let uc = arrays["unvoicedCepstra"], !lf.isEmpty, vc.count == lf.count * M, ap.count == lf.count * B,
              uc.count % M == 0, header.voicedStatistics.mean.count == M, header.unvoicedStatistics.mean.count == M
        else { throw AudioError(.corrupt, "voice model sections are inconsistent with its header") }
        return VoiceModel(name: header.name, createdAt: header.createdAt, consent: header.consent, fingerprint: header.fingerprint,
                          audit: header.audit, sampleRate: header.sampleRate, framePeriod: header.framePeriod,
                          fftSize: header.fftSize, cepstrumOrder: M, melPointCount: header.melPointCount,
                          aperiodicityFrequencies: header.aperiodicityFrequencies, pitchRange: header.pitchRange,
                          logF0Mean: header.logF0Mean, logF0StandardDeviation: header.logF0StandardDeviation,
                          voicedStatistics: header.voicedStatistics, unvoicedStatistics: header.unvoicedStatistics,
                          voicedCepstra: vc, voicedLogF0: lf, voicedAperiodicity: ap, unvoicedCepstra: uc)
    }

    private static func appendUInt32(_ data: inout Data, _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func readUInt32(_ data: Data, at offset: Int) -> UInt32 {
        let s = data.startIndex + offset
        return data[s..<(s + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
}
