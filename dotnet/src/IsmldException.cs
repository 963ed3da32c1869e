using System;

namespace Ismld
{
    /// <summary>
    /// Base class of every error the client throws for the bus. <see cref="Code"/> is one of
    /// the wire contract's error codes (<c>invalid_request</c>, <c>unauthorized</c>,
    /// <c>forbidden</c>, <c>not_found</c>, <c>conflict</c>, <c>payload_too_large</c>,
    /// <c>storage_full</c>, <c>timeout</c>, <c>internal</c>, ...) or the client's own
    /// <c>disconnected</c>; <see cref="Status"/> is the HTTP status the contract pairs with it
    /// (0 when the error did not come from an HTTP answer and has no status).
    /// </summary>
    public class IsmldException : Exception
    {
        /// <summary>Machine-readable error code.</summary>
        public string Code { get; }

        /// <summary>HTTP status of the answer, or the contract's status for <see cref="Code"/>.</summary>
        public int Status { get; }

        /// <summary>Makes an error with a code, a message and (optionally) a status.</summary>
        public IsmldException(string code, string message, int? status = null, Exception inner = null)
            : base(message, inner)
        {
            Code = code ?? "internal";
            Status = status ?? StatusOf(Code);
        }

        /// <summary>The HTTP status the contract pairs with an error code (0 for the client's own codes).</summary>
        public static int StatusOf(string code)
        {
            switch (code)
            {
                case "invalid_request":
                case "invalid_name":
                    return 400;
                case "unauthorized": return 401;
                case "forbidden": return 403;
                case "not_found": return 404;
                case "conflict": return 409;
                case "payload_too_large": return 413;
                case "unsupported_media_type": return 415;
                case "storage_full": return 507;
                case "timeout": return 504;
                case "internal": return 500;
                case "unavailable": return 503;
                default: return 0;
            }
        }

        /// <summary>Whether <paramref name="code"/> is one of the contract's error codes.</summary>
        public static bool IsKnownCode(string code) => StatusOf(code) != 0;

        /// <summary>
        /// Makes the right subclass for a code from the wire (an HTTP error body, an <c>error</c>
        /// frame or a close code), as the JS client's <c>errorFor</c> does.
        /// </summary>
        public static IsmldException For(string code, string message, int? status = null)
        {
            switch (code)
            {
                case "invalid_request":
                case "invalid_name":
                case "unsupported_media_type":
                case "conflict":
                    return new InvalidRequestException(code, message, status);
                case "unauthorized": return new UnauthorizedException(code, message, status);
                case "forbidden": return new ForbiddenException(code, message, status);
                case "not_found": return new NotFoundException(code, message, status);
                case "payload_too_large":
                case "storage_full":
                    return new LimitException(code, message, status);
                case "timeout": return new IsmldTimeoutException(code, message, status);
                case "disconnected": return new DisconnectedException(message);
                default: return new IsmldException(code ?? "internal", message, status);
            }
        }
    }
}
