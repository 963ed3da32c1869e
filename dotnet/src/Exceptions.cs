using System;

namespace Ismld
{
    /// <summary>Bad input: a bad field, a bad CloudEvent, a bad name, a conflict (<c>invalid_request</c>, <c>invalid_name</c>, <c>unsupported_media_type</c>, <c>conflict</c>).</summary>
    public class InvalidRequestException : IsmldException
    {
        /// <summary>Makes the error.</summary>
        public InvalidRequestException(string code, string message, int? status = null) : base(code, message, status) { }
    }

    /// <summary>Missing or wrong credentials or token (<c>unauthorized</c>, 401; close code 4001).</summary>
    public class UnauthorizedException : IsmldException
    {
        /// <summary>Makes the error.</summary>
        public UnauthorizedException(string code, string message, int? status = null) : base(code, message, status) { }
    }

    /// <summary>Authenticated, but no permission for this topic or operation (<c>forbidden</c>, 403; close code 4003).</summary>
    public class ForbiddenException : IsmldException
    {
        /// <summary>Makes the error.</summary>
        public ForbiddenException(string code, string message, int? status = null) : base(code, message, status) { }
    }

    /// <summary>No such topic, channel or in-flight message (<c>not_found</c>, 404; close code 4004).</summary>
    public class NotFoundException : IsmldException
    {
        /// <summary>Makes the error.</summary>
        public NotFoundException(string code, string message, int? status = null) : base(code, message, status) { }
    }

    /// <summary>An event, batch or checkpoint over its limit (<c>payload_too_large</c>, 413), or a full topic (<c>storage_full</c>, 507).</summary>
    public class LimitException : IsmldException
    {
        /// <summary>Makes the error.</summary>
        public LimitException(string code, string message, int? status = null) : base(code, message, status) { }
    }

    /// <summary>
    /// A request got no response in time (<c>timeout</c>, 504). Named so that it does not
    /// clash with <see cref="System.TimeoutException"/> in files that use both namespaces.
    /// </summary>
    public class IsmldTimeoutException : IsmldException
    {
        /// <summary>Makes the error.</summary>
        public IsmldTimeoutException(string code, string message, int? status = null) : base(code, message, status) { }
    }

    /// <summary>
    /// The connection was lost before an answer (<c>disconnected</c>, the client's own code).
    /// For a settle call this means the server will redeliver the message.
    /// </summary>
    public class DisconnectedException : IsmldException
    {
        /// <summary>Makes the error.</summary>
        public DisconnectedException(string message, Exception inner = null) : base("disconnected", message, 0, inner) { }
    }
}
