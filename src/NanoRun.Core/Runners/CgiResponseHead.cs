using System.Buffers;
using System.Text;

namespace NanoRun.Runners;

/// <summary>
/// The header block of a CGI/1.1 response (RFC 3875 §6): header lines up to a blank line, LF or CRLF,
/// read from the script's stdout into one pooled buffer of <see cref="MaxBlock"/> bytes.
/// </summary>
/// <remarks>
/// A missing <c>Status:</c> is 200, or 302 with a <c>Location:</c>. Output that ends before the blank line,
/// starts with it (no header fields), has a header block over <see cref="MaxBlock"/> bytes, a line that is
/// not <c>name: value</c>, a name that is not a token, a value with control or non-ASCII bytes, or a status
/// outside 200–599 is malformed: <see cref="Error"/> says why. Memory is the one buffer, whatever the output.
/// </remarks>
internal sealed class CgiResponseHead
{
    /// <summary>Largest header block in bytes, the blank line included: 64 KiB.</summary>
    public const int MaxBlock = 64 * 1024;

    private CgiResponseHead(int status, IReadOnlyList<KeyValuePair<string, string>> headers, Stream? body, string? error)
    {
        Status = status;
        Headers = headers;
        Body = body;
        Error = error;
    }

    /// <summary>The response status.</summary>
    public int Status { get; }

    /// <summary>The header fields except <c>Status</c>, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The rest of the output after the blank line; the caller disposes it. <c>null</c> when malformed.</summary>
    public Stream? Body { get; }

    /// <summary>Why the output is not a CGI response, or <c>null</c> when it is one.</summary>
    public string? Error { get; }

    /// <summary>Reads the header block from <paramref name="output"/>; stops at the first error without reading further.</summary>
    public static async Task<CgiResponseHead> ReadAsync(Stream output, CancellationToken cancellationToken)
    {
        var parser = new Parser(ArrayPool<byte>.Shared.Rent(MaxBlock), output);
        try
        {
            while (true)
            {
                if (parser.ParseLines() is { } done)
                {
                    return done;
                }

                if (parser.Filled == MaxBlock)
                {
                    return Malformed("the header block is larger than 64 KiB");
                }

                var read = await output.ReadAsync(parser.Buffer.AsMemory(parser.Filled, MaxBlock - parser.Filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return Malformed(parser.Filled == 0
                        ? "no output; a CGI response starts with a header block"
                        : "the output ends before the blank line that closes the header block");
                }

                parser.Filled += read;
            }
        }
        finally
        {
            parser.ReturnBufferUnlessHandedOver();
        }

        CgiResponseHead Malformed(string reason) => new(0, [], null, reason);
    }

    /// <summary>Parses complete lines as they arrive; owns the pooled buffer until a body stream takes it over.</summary>
    private sealed class Parser(byte[] buffer, Stream output)
    {
        private readonly List<KeyValuePair<string, string>> _headers = [];
        private int _lineStart;
        private int _lineNumber;
        private int _status;
        private bool _hasLocation;
        private bool _handedOver;

        public byte[] Buffer { get; } = buffer;

        public int Filled { get; set; }

        /// <summary>Parses every complete line; returns the head once the blank line or an error is reached, else <c>null</c> for more input.</summary>
        public CgiResponseHead? ParseLines()
        {
            while (true)
            {
                var end = Buffer.AsSpan(_lineStart, Filled - _lineStart).IndexOf((byte)'\n');
                if (end < 0)
                {
                    return null;
                }

                var line = Buffer.AsSpan(_lineStart, end);
                if (!line.IsEmpty && line[^1] == '\r')
                {
                    line = line[..^1];
                }

                _lineStart += end + 1;
                _lineNumber++;
                if (line.IsEmpty)
                {
                    return _lineNumber == 1 ? Error("the output starts with a blank line; a CGI response needs at least one header field") : Complete();
                }

                if (ParseField(line) is { } error)
                {
                    return Error(error);
                }
            }
        }

        public void ReturnBufferUnlessHandedOver()
        {
            if (!_handedOver)
            {
                ArrayPool<byte>.Shared.Return(Buffer);
            }
        }

        private CgiResponseHead Complete()
        {
            var status = _status != 0 ? _status : _hasLocation ? 302 : 200;
            _handedOver = true;
            return new CgiResponseHead(status, _headers, new PrefixedStream(Buffer, _lineStart, Filled, output), null);
        }

        private static CgiResponseHead Error(string reason) => new(0, [], null, reason);

        private string? ParseField(ReadOnlySpan<byte> line)
        {
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return $"header line {_lineNumber} is not 'Name: value'";
            }

            var name = line[..colon];
            foreach (var b in name)
            {
                if (!IsTokenByte(b))
                {
                    return $"header line {_lineNumber} has a name that is not an HTTP token";
                }
            }

            var value = line[(colon + 1)..].Trim(" \t"u8);
            foreach (var b in value)
            {
                if ((b < 0x20 && b != (byte)'\t') || b > 0x7E)
                {
                    return $"header line {_lineNumber} has a control or non-ASCII byte in its value";
                }
            }

            var nameText = Encoding.ASCII.GetString(name);
            var valueText = Encoding.ASCII.GetString(value);
            if (nameText.Equals("Status", StringComparison.OrdinalIgnoreCase))
            {
                if (_status != 0)
                {
                    return "more than one Status header";
                }

                if (!TryParseStatus(value, out _status))
                {
                    return $"unparsable Status '{valueText}'; expected a code from 200 to 599 and an optional reason";
                }

                return null;
            }

            if (nameText.Equals("Location", StringComparison.OrdinalIgnoreCase))
            {
                _hasLocation = true;
            }

            _headers.Add(new(nameText, valueText));
            return null;
        }

        private static bool TryParseStatus(ReadOnlySpan<byte> value, out int status)
        {
            status = 0;
            if (value.Length < 3 || (value.Length > 3 && value[3] != (byte)' '))
            {
                return false;
            }

            for (var i = 0; i < 3; i++)
            {
                if (!char.IsAsciiDigit((char)value[i]))
                {
                    return false;
                }

                status = (status * 10) + (value[i] - '0');
            }

            if (status is < 200 or > 599)
            {
                status = 0;
                return false;
            }

            return true;
        }

        // tchar of RFC 9110 §5.6.2.
        private static bool IsTokenByte(byte b) =>
            char.IsAsciiLetterOrDigit((char)b) || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\''
                or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
    }

    /// <summary>The bytes read past the header block, then the rest of the output; returns the pooled buffer when disposed.</summary>
    private sealed class PrefixedStream(byte[] buffer, int start, int end, Stream rest) : ReadOnlyStream
    {
        private byte[]? _buffer = buffer;
        private int _start = start;

        public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (_buffer is not null && _start < end)
            {
                var count = Math.Min(destination.Length, end - _start);
                _buffer.AsMemory(_start, count).CopyTo(destination);
                _start += count;
                return ValueTask.FromResult(count);
            }

            return rest.ReadAsync(destination, cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_buffer is not null && _start < end)
            {
                var copied = Math.Min(count, end - _start);
                _buffer.AsSpan(_start, copied).CopyTo(buffer.AsSpan(offset, copied));
                _start += copied;
                return copied;
            }

            return rest.Read(buffer, offset, count);
        }


        protected override void Dispose(bool disposing)
        {
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }

            base.Dispose(disposing);
        }
    }
}
