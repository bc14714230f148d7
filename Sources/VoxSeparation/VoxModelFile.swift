import Foundation
import VoxAudio

/// The Vox model file (`.voxmodel`): named float32 tensors, a JSON configuration and a model card, checksummed.
///
/// Layout (all integers little-endian):
///
/// | bytes | content |
/// |---|---|
/// | 0–7 | magic `VOXMODL1` |
/// | 8–15 | header length H (UInt64) |
/// | 16 ..< 16+H | header, UTF-8 JSON: `format` ("vox-model"), `version` (1), `config` (architecture parameters), `card` (name, source, licence, upstream checksum, conversion notes), `tensors` (name, shape, offset and count in floats), `dataSHA256` |
/// | next multiple of 64 | tensor data: float32 values, each tensor at `offset` floats from here |
///
/// `dataSHA256` covers the tensor data; a file whose data does not match it is refused as tampered.
public struct VoxModelFile: Sendable {
    public static let magic = Array("VOXMODL1".utf8)
    public static let formatVersion = 1

    /// Architecture parameters, model-specific (see `SpleeterConfiguration`).
    public var config: [String: JSONValue]
    /// Provenance: name, source, licence, upstream checksums.
    public var card: [String: JSONValue]
    public var tensors: [String: Tensor]

    public init(config: [String: JSONValue], card: [String: JSONValue], tensors: [String: Tensor]) {
        self.config = config
        self.card = card
        self.tensors = tensors
    }

    struct TensorRecord: Codable { var name: String; var shape: [Int]; var offset: Int; var count: Int }
    struct Header: Codable {
        var format: String
        var version: Int
        var config: [String: JSONValue]
        var card: [String: JSONValue]
        var tensors: [TensorRecord]
        var dataSHA256: String
    }

    /// Writes the file atomically (temporary sibling, then rename).
    public func write(to path: String) throws {
        var records = [TensorRecord]()
        var data = Data()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            records.append(TensorRecord(name: name, shape: t.shape, offset: data.count / 4, count: t.count))
            t.values.withUnsafeBufferPointer { p in
                for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            }
        }
        let header = Header(format: "vox-model", version: VoxModelFile.formatVersion, config: config, card: card,
                            tensors: records, dataSHA256: SHA256.hex(data))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let json = try encoder.encode(header)
        var file = Data(VoxModelFile.magic)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        while file.count % 64 != 0 { file.append(0) }
        file.append(data)
        try OutputPath.writeAtomically(file, to: path)
    }

    /// Reads and verifies a model file.
    /// - Throws: `.fileNotFound`, `.corrupt` (bad magic, header or layout) or `.corrupt` with "tampered" when the
    ///   data checksum does not match.
    public static func read(path: String) throws -> VoxModelFile {
        guard FileManager.default.fileExists(atPath: path) else { throw AudioError(.fileNotFound, path: path, "no such model file") }
        let file = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        guard file.count >= 16, Array(file.prefix(8)) == magic else {
            throw AudioError(.corrupt, path: path, "not a Vox model file (bad magic)")
        }
        let headerLength = Int(file.subdata(in: 8..<16).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        guard headerLength > 0, 16 + headerLength <= file.count else { throw AudioError(.corrupt, path: path, "bad header length") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: file.subdata(in: 16..<(16 + headerLength)))
        } catch {
            throw AudioError(.corrupt, path: path, "unreadable model header: \(error)")
        }
        guard header.format == "vox-model", header.version == formatVersion else {
            throw AudioError(.unsupportedFormat, path: path, "model format \(header.format) v\(header.version) is not supported (need vox-model v\(formatVersion))")
        }
        let dataStart = (16 + headerLength + 63) / 64 * 64
        guard dataStart <= file.count else { throw AudioError(.corrupt, path: path, "model data missing") }
        let data = file.subdata(in: dataStart..<file.count)
        guard SHA256.hex(data) == header.dataSHA256 else {
            throw AudioError(.corrupt, path: path, "model data checksum mismatch: the file is damaged or has been tampered with; reinstall it (bash tools/setup.sh)")
        }
        var tensors = [String: Tensor]()
        try data.withUnsafeBytes { raw in
            for r in header.tensors {
                guard r.offset >= 0, r.count == r.shape.reduce(1, *), (r.offset + r.count) * 4 <= raw.count else {
                    throw AudioError(.corrupt, path: path, "tensor \(r.name) lies outside the data")
                }
                let values = [Float](unsafeUninitializedCapacity: r.count) { buf, n in
                    for i in 0..<r.count {
                        buf[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * (r.offset + i), as: UInt32.self)))
                    }
                    n = r.count
                }
                tensors[r.name] = Tensor(shape: r.shape, values: values)
            }
        }
        return VoxModelFile(config: header.config, card: header.card, tensors: tensors)
    }

    /// The tensor `name`, checked against `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let t = tensors[name] else { throw AudioError(.corrupt, "model lacks tensor \(name)") }
        guard t.shape == shape else { throw AudioError(.corrupt, "model tensor \(name) has shape \(t.shape), expected \(shape)") }
        return t
    }
}

/// A JSON value for free-form configuration and model cards.
public enum JSONValue: Codable, Equatable, Sendable {
    case string(String), number(Double), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    public var number: Double? { if case .number(let n) = self { return n } else { return nil } }
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
}
