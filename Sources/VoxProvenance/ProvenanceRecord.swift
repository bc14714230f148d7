import Foundation
import VoxAudio

/// What an output file says about how it was made: written into WAV (INFO, bext, iXML) and FLAC (Vorbis comment)
/// through `AudioMetadata`, read back from any file by `init?(metadata:)`.
///
/// `vox convert`, `vox cover` and `vox mix` attach one to every file they write; a file with a synthetic voice
/// names the voice model, the hash of its consent record, and whether (and with which key) it is watermarked.
public struct ProvenanceRecord: Equatable, Sendable, Codable {
    /// The program, e.g. "Vox".
    public var tool: String
    public var toolVersion: String
    /// True when the audio contains a voice made by a voice model.
    public var containsSyntheticVoice: Bool
    /// The voice model's identifier, when a synthetic voice is present.
    public var voiceModelID: String?
    /// SHA-256 (hex) of the consent record the voice model was trained under.
    public var consentSHA256: String?
    /// True when a watermark was embedded; false records that it was turned off explicitly.
    public var watermarked: Bool
    /// The public identifier of the watermark key (`WatermarkKey.id`), when watermarked.
    public var watermarkKeyID: String?
    /// The payload embedded (`0x…`), when watermarked.
    public var watermarkPayload: String?
    /// When the file was made (ISO 8601, UTC).
    public var created: String?

    public init(tool: String = "Vox", toolVersion: String = VoxVersion.string, containsSyntheticVoice: Bool,
                voiceModelID: String? = nil, consentSHA256: String? = nil, watermarked: Bool,
                watermarkKeyID: String? = nil, watermarkPayload: WatermarkPayload? = nil, created: Date? = Date()) {
        self.tool = tool
        self.toolVersion = toolVersion
        self.containsSyntheticVoice = containsSyntheticVoice
        self.voiceModelID = voiceModelID
        self.consentSHA256 = consentSHA256
        self.watermarked = watermarked
        self.watermarkKeyID = watermarkKeyID
        self.watermarkPayload = watermarkPayload?.hex
        self.created = created.map(ProvenanceRecord.iso8601)
    }

    /// A record for audio marked by `watermarker` (synthetic voice or not, as given).
    public init(containsSyntheticVoice: Bool, voiceModelID: String? = nil, consentSHA256: String? = nil,
                watermarker: Watermarker) {
        self.init(containsSyntheticVoice: containsSyntheticVoice, voiceModelID: voiceModelID,
                  consentSHA256: consentSHA256, watermarked: true, watermarkKeyID: watermarker.key.id,
                  watermarkPayload: watermarker.payload)
    }

    /// Field names in `AudioMetadata.fields`.
    enum Key {
        static let tool = "provenance.tool"
        static let synthetic = "provenance.synthetic-voice"
        static let voiceModel = "provenance.voice-model"
        static let consent = "provenance.consent-sha256"
        static let watermark = "provenance.watermark"
        static let watermarkKey = "provenance.watermark-key"
        static let watermarkPayload = "provenance.watermark-payload"
        static let created = "provenance.created"
    }

    /// The metadata to hand to `AudioFileWriter`: `base` (title, artist, …) plus this record's fields, software
    /// "Vox 0.1.0", the creation date and, for synthetic voices, a sentence in the comment that says so.
    public func metadata(base: AudioMetadata = AudioMetadata()) -> AudioMetadata {
        var m = base
        m.software = "\(tool) \(toolVersion)"
        if m.date == nil, let created { m.date = String(created.prefix(10)) }
        if containsSyntheticVoice {
            let note = "Contains a synthetic voice made with \(tool)" + (voiceModelID.map { " (voice model \($0))" } ?? "") + "."
            m.comment = m.comment.map { $0 + "\n" + note } ?? note
        }
        m.fields[Key.tool] = "\(tool) \(toolVersion)"
        m.fields[Key.synthetic] = containsSyntheticVoice ? "yes" : "no"
        if let voiceModelID { m.fields[Key.voiceModel] = voiceModelID }
        if let consentSHA256 { m.fields[Key.consent] = consentSHA256 }
        m.fields[Key.watermark] = watermarked ? "on" : "off"
        if let watermarkKeyID { m.fields[Key.watermarkKey] = watermarkKeyID }
        if let watermarkPayload { m.fields[Key.watermarkPayload] = watermarkPayload }
        if let created { m.fields[Key.created] = created }
        return m
    }

    /// The record stored in a file's metadata, or nil when it has none.
    public init?(metadata m: AudioMetadata) {
        let f = m.fields
        guard let toolField = f[Key.tool], let synthetic = f[Key.synthetic], let mark = f[Key.watermark] else { return nil }
        let parts = toolField.split(separator: " ", maxSplits: 1).map(String.init)
        tool = parts[0]
        toolVersion = parts.count > 1 ? parts[1] : ""
        containsSyntheticVoice = synthetic == "yes"
        voiceModelID = f[Key.voiceModel]
        consentSHA256 = f[Key.consent]
        watermarked = mark == "on"
        watermarkKeyID = f[Key.watermarkKey]
        watermarkPayload = f[Key.watermarkPayload]
        created = f[Key.created]
    }

    /// Reads the record of a file (nil when it has none).
    public static func read(path: String) throws -> ProvenanceRecord? {
        ProvenanceRecord(metadata: try AudioFileReader(path: path).metadata)
    }

    static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
