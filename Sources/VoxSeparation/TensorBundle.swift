import Foundation
import VoxAudio

/// A named float32 tensor: row-major data with its shape.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    public var count: Int { values.count }
}

/// Reads a TensorFlow checkpoint ("tensor bundle": `NAME.index` + `NAME.data-00000-of-00001`) without TensorFlow.
///
/// The index is a LevelDB-format sorted string table (SSTable): a footer points at an index block whose entries
/// point at data blocks; each data block holds prefix-compressed key/value entries and a restart array. The value of
/// key "" is a `BundleHeaderProto`; every other key is a tensor name whose value is a `BundleEntryProto` (protobuf:
/// 1 dtype, 2 shape, 3 shard_id, 4 offset, 5 size, 6 crc32c) locating raw little-endian bytes in the data file.
/// Only float32 tensors in one shard are supported, which is what Spleeter's checkpoints hold.
public enum TensorBundle {
    /// Every float32 tensor of the bundle whose index is at `indexPath`, by name. The CRC32C of each tensor is checked.
    public static func read(indexPath: String, dataPath: String) throws -> [String: Tensor] {
        let index = try readFile(indexPath)
        let data = try readFile(dataPath)
        var tensors = [String: Tensor]()
        for (key, value) in try tableEntries(index, path: indexPath) where !key.isEmpty {
            let entry = try BundleEntry(protobuf: value, path: indexPath, name: key)
            guard entry.dtype == 1 else { continue }  // DT_FLOAT only; step counters and the like are skipped
            guard entry.shard == 0 else {
                throw AudioError(.unsupportedFormat, path: indexPath, "tensor \(key) is in shard \(entry.shard); only single-shard bundles are supported")
            }
            let count = entry.shape.reduce(1, *)
            guard entry.size == count * 4, entry.offset >= 0, entry.offset + entry.size <= data.count else {
                throw AudioError(.corrupt, path: dataPath, "tensor \(key) lies outside the data file")
            }
            let bytes = data[entry.offset..<(entry.offset + entry.size)]
            if let expected = entry.crc32c {
                let actual = maskedCRC32C(bytes)
                guard actual == expected else {
                    throw AudioError(.corrupt, path: dataPath, "tensor \(key) fails its checksum")
                }
            }
            let values = [Float](unsafeUninitializedCapacity: count) { buf, n in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<count { buf[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                }
                n = count
            }
            tensors[key] = Tensor(shape: entry.shape, values: values)
        }
        return tensors
    }

    private static func readFile(_ path: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw AudioError(.fileNotFound, path: path, "no such file") }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AudioError(.io, path: path, "cannot read: \(error.localizedDescription)")
        }
    }

    // MARK: SSTable

    /// All key/value pairs of an SSTable, in key order.
    static func tableEntries(_ table: Data, path: String) throws -> [(String, Data)] {
        let bytes = [UInt8](table)
        guard bytes.count >= 48 else { throw AudioError(.corrupt, path: path, "too short for a tensor bundle index") }
        let footer = Array(bytes[(bytes.count - 48)...])
        let magic = footer[40..<48].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard magic == 0xdb47_7524_8b80_fb57 else { throw AudioError(.corrupt, path: path, "not a tensor bundle index (bad table magic)") }
        var cursor = 0
        _ = try readHandle(footer, &cursor, path)  // metaindex (unused)
        let indexHandle = try readHandle(footer, &cursor, path)
        var out = [(String, Data)]()
        for (_, handleBytes) in try blockEntries(bytes, indexHandle, path) {
            var c = 0
            let dataHandle = try readHandle(handleBytes, &c, path)
            for (k, v) in try blockEntries(bytes, dataHandle, path) {
                out.append((String(decoding: k, as: UTF8.self), Data(v)))
            }
        }
        return out
    }

    private static func readHandle(_ b: [UInt8], _ cursor: inout Int, _ path: String) throws -> (offset: Int, size: Int) {
        let offset = try varint(b, &cursor, path), size = try varint(b, &cursor, path)
        return (Int(offset), Int(size))
    }

    private static func blockEntries(_ file: [UInt8], _ handle: (offset: Int, size: Int), _ path: String) throws -> [([UInt8], [UInt8])] {
        guard handle.offset >= 0, handle.size >= 4, handle.offset + handle.size + 5 <= file.count else {
            throw AudioError(.corrupt, path: path, "block outside the file")
        }
        guard file[handle.offset + handle.size] == 0 else {
            throw AudioError(.unsupportedFormat, path: path, "compressed index blocks are not supported")
        }
        let block = Array(file[handle.offset..<(handle.offset + handle.size)])
        let restarts = Int(UInt32(block[block.count - 4]) | UInt32(block[block.count - 3]) << 8 | UInt32(block[block.count - 2]) << 16 | UInt32(block[block.count - 1]) << 24)
        let end = block.count - 4 - 4 * restarts
        guard end >= 0 else { throw AudioError(.corrupt, path: path, "bad block restart array") }
        var cursor = 0
        var key = [UInt8]()
        var entries = [([UInt8], [UInt8])]()
        while cursor < end {
            let shared = Int(try varint(block, &cursor, path))
            let unshared = Int(try varint(block, &cursor, path))
            let valueLength = Int(try varint(block, &cursor, path))
            guard shared <= key.count, cursor + unshared + valueLength <= end else {
                throw AudioError(.corrupt, path: path, "bad block entry")
            }
            key = Array(key[0..<shared]) + block[cursor..<(cursor + unshared)]
            cursor += unshared
            entries.append((key, Array(block[cursor..<(cursor + valueLength)])))
            cursor += valueLength
        }
        return entries
    }

    static func varint(_ b: [UInt8], _ cursor: inout Int, _ path: String) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while cursor < b.count && shift < 64 {
            let byte = b[cursor]
            cursor += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw AudioError(.corrupt, path: path, "truncated varint")
    }

    // MARK: protobuf

    struct BundleEntry {
        var dtype = 0
        var shape = [Int]()
        var shard = 0
        var offset = 0
        var size = 0
        var crc32c: UInt32?

        init(protobuf: Data, path: String, name: String) throws {
            let b = [UInt8](protobuf)
            var c = 0
            while c < b.count {
                let tag = try varint(b, &c, path)
                let field = tag >> 3, wire = tag & 7
                switch (field, wire) {
                case (1, 0): dtype = Int(try varint(b, &c, path))
                case (3, 0): shard = Int(try varint(b, &c, path))
                case (4, 0): offset = Int(try varint(b, &c, path))
                case (5, 0): size = Int(try varint(b, &c, path))
                case (6, 5):
                    guard c + 4 <= b.count else { throw AudioError(.corrupt, path: path, "truncated entry for \(name)") }
                    crc32c = UInt32(b[c]) | UInt32(b[c + 1]) << 8 | UInt32(b[c + 2]) << 16 | UInt32(b[c + 3]) << 24
                    c += 4
                case (2, 2):
                    let len = Int(try varint(b, &c, path))
                    shape = try TensorBundle.shapeDims(Array(b[c..<min(b.count, c + len)]), path)
                    c += len
                default:
                    try skip(b, &c, wire: wire, path)
                }
            }
        }
    }

    /// Dimensions of a `TensorShapeProto` (field 2: repeated Dim { 1: size }).
    static func shapeDims(_ b: [UInt8], _ path: String) throws -> [Int] {
        var dims = [Int]()
        var c = 0
        while c < b.count {
            let tag = try varint(b, &c, path)
            if tag >> 3 == 2 && tag & 7 == 2 {
                let len = Int(try varint(b, &c, path))
                let dim = Array(b[c..<min(b.count, c + len)])
                c += len
                var d = 0, size = 0
                while d < dim.count {
                    let t = try varint(dim, &d, path)
                    if t >> 3 == 1 && t & 7 == 0 { size = Int(Int64(bitPattern: try varint(dim, &d, path))) } else { try skip(dim, &d, wire: t & 7, path) }
                }
                dims.append(size)
            } else {
                try skip(b, &c, wire: tag & 7, path)
            }
        }
        return dims
    }

    private static func skip(_ b: [UInt8], _ c: inout Int, wire: UInt64, _ path: String) throws {
        switch wire {
        case 0: _ = try varint(b, &c, path)
        case 1: c += 8
        case 2: c += Int(try varint(b, &c, path))
        case 5: c += 4
        default: throw AudioError(.corrupt, path: path, "unknown protobuf wire type \(wire)")
        }
    }

    // MARK: CRC32C (Castagnoli), masked as LevelDB/TensorFlow store it

    private static let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32c(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { raw in
            for byte in raw { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func maskedCRC32C(_ data: Data) -> UInt32 {
        let crc = crc32c(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
