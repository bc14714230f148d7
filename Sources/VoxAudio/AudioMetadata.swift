import CSndFile
import Foundation

/// Descriptive metadata of an audio file: the standard text tags plus machine-readable key/value fields.
///
/// Written by `AudioFileWriter` and read back by `AudioFileReader`:
/// - WAV: the text tags go into the `LIST/INFO` chunk (INAM, IART, ISFT, ICMT, ICRD, ICOP); the fields as
///   `key=value` lines after the comment, again in a `bext` chunk (EBU Tech 3285: originator = software,
///   description = the fields, coding history), and in an `iXML` chunk (`<USER>` elements).
/// - FLAC: Vorbis comments (TITLE, ARTIST, SOFTWARE, COMMENT, DATE, COPYRIGHT), the fields in COMMENT.
///
/// libsndfile has no custom tag names, so the comment carries the fields in both containers: any tool that shows
/// the comment shows them, and they survive a WAV↔FLAC copy through the reader and the writer.
public struct AudioMetadata: Equatable, Sendable {
    public var title: String?
    public var artist: String?
    /// The program that made the file, e.g. "Vox 0.1.0".
    public var software: String?
    /// Free text (without the fields).
    public var comment: String?
    /// Creation date, ISO 8601.
    public var date: String?
    public var copyright: String?
    /// Machine-readable key/value pairs (keys: letters, digits, `.`, `-`, `_`; values: one line).
    public var fields: [String: String]
    /// Chunks or comment blocks the fields were found in when read (e.g. `["INFO", "bext", "iXML"]`).
    public internal(set) var sources: [String] = []

    public init(title: String? = nil, artist: String? = nil, software: String? = nil, comment: String? = nil,
                date: String? = nil, copyright: String? = nil, fields: [String: String] = [:]) {
        self.title = title
        self.artist = artist
        self.software = software
        self.comment = comment
        self.date = date
        self.copyright = copyright
        self.fields = fields
    }

    /// True when nothing is set.
    public var isEmpty: Bool {
        [title, artist, software, comment, date, copyright].allSatisfy { $0 == nil } && fields.isEmpty
    }

    public static func == (a: AudioMetadata, b: AudioMetadata) -> Bool {
        a.title == b.title && a.artist == b.artist && a.software == b.software && a.comment == b.comment
            && a.date == b.date && a.copyright == b.copyright && a.fields == b.fields
    }

    /// Checks keys and values: they must survive the `key=value` line format.
    /// - Throws: `.invalidArgument`.
    public func validate() throws {
        for (k, v) in fields {
            let keyOK = !k.isEmpty && k.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)
            }
            guard keyOK, k.unicodeScalars.allSatisfy(\.isASCII) else {
                throw AudioError(.invalidArgument, "metadata key '\(k)' must be ASCII letters, digits, '.', '-' or '_'")
            }
            guard !v.contains("\n"), !v.contains("\r") else {
                throw AudioError(.invalidArgument, "metadata value of '\(k)' must be one line")
            }
        }
    }

    /// Marks the start of the fields inside the comment.
    static let fieldsMarker = "[vox-metadata]"

    /// The comment as stored: the free text, then the marker and one `key=value` line per field (sorted).
    var storedComment: String? {
        if fields.isEmpty { return comment }
        let lines = fields.keys.sorted().map { "\($0)=\(fields[$0]!)" }
        return ((comment.map { [$0] } ?? []) + [AudioMetadata.fieldsMarker] + lines).joined(separator: "\n")
    }

    /// Splits a stored comment into free text and fields.
    static func parseComment(_ stored: String) -> (comment: String?, fields: [String: String]) {
        let lines = stored.components(separatedBy: "\n")
        guard let marker = lines.firstIndex(of: fieldsMarker) else { return (stored, [:]) }
        var fields = [String: String]()
        for line in lines[(marker + 1)...] {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        let text = lines[..<marker].joined(separator: "\n")
        return (text.isEmpty ? nil : text, fields)
    }

    /// One line for the `bext` description (at most 256 bytes; fields cut at a field boundary).
    var broadcastDescription: String {
        var out = ""
        for k in fields.keys.sorted() {
            let item = (out.isEmpty ? "" : "; ") + "\(k)=\(fields[k]!)"
            if out.utf8.count + item.utf8.count > 255 { break }
            out += item
        }
        return out
    }

    /// An iXML document (iXML 2.0 `<USER>` block) holding the fields.
    var ixml: String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BWFXML>\n<IXML_VERSION>2.0</IXML_VERSION>\n"
        if let title { x += "<PROJECT>\(esc(title))</PROJECT>\n" }
        x += "<USER>\n"
        for k in fields.keys.sorted() { x += "<\(Self.xmlName(k))>\(esc(fields[k]!))</\(Self.xmlName(k))>\n" }
        x += "</USER>\n</BWFXML>\n"
        return x
    }

    /// An XML element name for a field key (`voice.model-id` → `VOICE.MODEL-ID`; names may not start with a digit).
    static func xmlName(_ key: String) -> String {
        let upper = key.uppercased()
        return upper.first?.isLetter == true ? upper : "F_" + upper
    }

    /// The libsndfile string slots and their values.
    var textTags: [(Int32, String)] {
        var out = [(Int32, String)]()
        if let title { out.append((Int32(SF_STR_TITLE), title)) }
        if let artist { out.append((Int32(SF_STR_ARTIST), artist)) }
        if let software { out.append((Int32(SF_STR_SOFTWARE), software)) }
        if let c = storedComment { out.append((Int32(SF_STR_COMMENT), c)) }
        if let date { out.append((Int32(SF_STR_DATE), date)) }
        if let copyright { out.append((Int32(SF_STR_COPYRIGHT), copyright)) }
        return out
    }
}

// MARK: - libsndfile glue

extension AudioMetadata {
    /// Writes the tags (and for WAV the `bext` and `iXML` chunks) into a file opened for writing, before any audio.
    func apply(to handle: OpaquePointer, container: AudioContainer, sampleRate: Int, channelCount: Int,
               encoding: SampleEncoding, path: String) throws {
        try validate()
        for (slot, value) in textTags where sf_set_string(handle, slot, value) != 0 {
            throw AudioError(.unwritable, path: path, "cannot store metadata: \(String(cString: sf_strerror(handle)))")
        }
        guard container == .wav, !fields.isEmpty || software != nil else { return }
        var bext = SF_BROADCAST_INFO()
        func put<T>(_ s: String, into field: inout T) {
            withUnsafeMutableBytes(of: &field) { raw in
                let bytes = Array(s.utf8.prefix(raw.count))
                raw.copyBytes(from: bytes)
            }
        }
        put(broadcastDescription, into: &bext.description)
        put(software ?? "", into: &bext.originator)
        let now = Date()
        let day = DateFormatter(), time = DateFormatter()
        day.dateFormat = "yyyy-MM-dd"; time.dateFormat = "HH:mm:ss"
        day.timeZone = TimeZone(identifier: "UTC"); time.timeZone = day.timeZone
        put(day.string(from: now), into: &bext.origination_date)
        put(time.string(from: now), into: &bext.origination_time)
        bext.version = 1
        // EBU R 98 coding history: the one process that made this file.
        let bits = encoding.integerBits.map(String.init) ?? "32"
        let history = "A=PCM,F=\(sampleRate),W=\(bits),M=\(channelCount == 1 ? "mono" : channelCount == 2 ? "stereo" : "multi"),T=\(software ?? "Vox")\r\n"
        put(history, into: &bext.coding_history)
        bext.coding_history_size = UInt32(min(history.utf8.count, 256))
        guard sf_command(handle, Int32(SFC_SET_BROADCAST_INFO), &bext, Int32(MemoryLayout<SF_BROADCAST_INFO>.size)) == Int32(SF_TRUE) else {
            throw AudioError(.unwritable, path: path, "cannot store the bext chunk")
        }
        var xml = Array(ixml.utf8)
        if xml.count % 2 == 1 { xml.append(0x20) }  // RIFF chunks are padded to even sizes: keep the text whole
        let status: Int32 = xml.withUnsafeMutableBytes { data in
            var chunk = SF_CHUNK_INFO()
            put("iXML", into: &chunk.id)
            chunk.id_size = 4
            chunk.datalen = UInt32(data.count)
            chunk.data = data.baseAddress
            return sf_set_chunk(handle, &chunk)
        }
        guard status == 0 else {
            throw AudioError(.unwritable, path: path, "cannot store the iXML chunk: \(String(cString: sf_error_number(status)))")
        }
    }

    /// Reads tags, `bext` and `iXML` from a file opened for reading.
    static func read(from handle: OpaquePointer, container: String) -> AudioMetadata {
        func get(_ slot: Int32) -> String? {
            guard let p = sf_get_string(handle, slot) else { return nil }
            let s = String(cString: p)
            return s.isEmpty ? nil : s
        }
        var m = AudioMetadata(title: get(Int32(SF_STR_TITLE)), artist: get(Int32(SF_STR_ARTIST)),
                              software: get(Int32(SF_STR_SOFTWARE)), comment: nil, date: get(Int32(SF_STR_DATE)),
                              copyright: get(Int32(SF_STR_COPYRIGHT)))
        let tagSource = container == "FLAC" || container == "OGG" ? "Vorbis comment" : "INFO"
        if let stored = get(Int32(SF_STR_COMMENT)) {
            let parsed = parseComment(stored)
            m.comment = parsed.comment
            m.fields = parsed.fields
            if !parsed.fields.isEmpty { m.sources.append(tagSource) }
        }
        var bext = SF_BROADCAST_INFO()
        if sf_command(handle, Int32(SFC_GET_BROADCAST_INFO), &bext, Int32(MemoryLayout<SF_BROADCAST_INFO>.size)) == Int32(SF_TRUE) {
            let description = withUnsafeBytes(of: &bext.description) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !description.isEmpty {
                m.sources.append("bext")
                // Fields the comment lacks (a file written by another tool) come from the bext description.
                for item in description.components(separatedBy: "; ") {
                    guard let eq = item.firstIndex(of: "=") else { continue }
                    let key = String(item[..<eq])
                    if m.fields[key] == nil { m.fields[key] = String(item[item.index(after: eq)...]) }
                }
            }
            if m.software == nil {
                let originator = withUnsafeBytes(of: &bext.originator) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if !originator.isEmpty { m.software = originator }
            }
        }
        if let xml = readChunk(handle, id: "iXML"), xml.contains("<USER>") { m.sources.append("iXML") }
        return m
    }

    /// The data of the first chunk named `id`, as text.
    private static func readChunk(_ handle: OpaquePointer, id: String) -> String? {
        var query = SF_CHUNK_INFO()
        withUnsafeMutableBytes(of: &query.id) { $0.copyBytes(from: Array(id.utf8)) }
        query.id_size = UInt32(id.utf8.count)
        guard let iterator = sf_get_chunk_iterator(handle, &query) else { return nil }
        var info = SF_CHUNK_INFO()
        guard sf_get_chunk_size(iterator, &info) == 0, info.datalen > 0, info.datalen < 1 << 24 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.datalen))
        let status: Int32 = bytes.withUnsafeMutableBytes { raw in
            info.data = raw.baseAddress
            return sf_get_chunk_data(iterator, &info)
        }
        guard status == 0 else { return nil }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
