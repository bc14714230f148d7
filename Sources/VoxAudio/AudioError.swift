/// An error from reading, writing or processing audio.
///
/// Every error names the file it concerns (when there is one) and says what is wrong in one line, so the
/// command line can print `path: message` and stop without leaving partial output behind.
public struct AudioError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, for callers (and tests) that branch on it.
    public enum Kind: String, Sendable {
        case fileNotFound, notAudio, unsupportedFormat, corrupt, truncated, empty, nonFinite
        case unwritable, sameAsInput, invalidArgument, io
    }

    public let kind: Kind
    /// The file concerned, if any.
    public let path: String?
    /// A one-line human-readable explanation.
    public let message: String

    public init(_ kind: Kind, path: String? = nil, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String {
        if let path { return "\(path): \(message)" }
        return message
    }
}
