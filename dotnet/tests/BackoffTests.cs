using System.Linq;

namespace Ismld.Tests
{
    /// <summary>The backoff arithmetic gives the JS client's numbers (src/client/backoff.rs).</summary>
    internal static class BackoffTests
    {
        [Test]
        public static void HandlerBackoffDoublesToAMinute()
        {
            var d = Enumerable.Range(0, 8).Select(f => Backoff.HandlerDelay(5000, f)).ToArray();
            Check.Equal("0,5000,10000,20000,40000,60000,60000,60000", string.Join(",", d));
            Check.Equal(60000L, Backoff.HandlerDelay(5000, int.MaxValue));
        }

        [Test]
        public static void ReconnectIsJitteredUnderAGrowingCap()
        {
            Check.Equal(499L, Backoff.ReconnectDelay(500, 30000, 0, 0.999999));
            Check.Equal(2000L, Backoff.ReconnectDelay(500, 30000, 3, 0.5));
            Check.Equal(29999L, Backoff.ReconnectDelay(500, 30000, 30, 0.999999));
            Check.Equal(125L, Backoff.ReconnectDelay(500, 30000, 5, 0.0));
            Check.True(Backoff.ReconnectDelay(500, 30000, 2, double.NaN) > 0, "a delay even for NaN");
        }

        [Test]
        public static void MaxInFlightIsSpreadOverPartitionsAtLeastOneEach()
        {
            Check.Equal("3,3,2,2", string.Join(",", Enumerable.Range(0, 4).Select(p => Subscriber.Share(10, 4, p))));
            Check.Equal("1,1,1,1", string.Join(",", Enumerable.Range(0, 4).Select(p => Subscriber.Share(3, 4, p))));
            Check.Equal("5", string.Join(",", Enumerable.Range(0, 1).Select(p => Subscriber.Share(5, 1, p))));
            Check.Equal("0,0,0", string.Join(",", Enumerable.Range(0, 3).Select(p => Subscriber.Share(0, 3, p))), "0 pauses every partition");
        }

        [Test]
        public static void NamesArePrefixedAndChecked()
        {
            Check.Equal("[DEV]orders", Names.Wire("[DEV]", "orders", false));
            Check.Equal("[DEV]tail#ephemeral", Names.Wire("[DEV]", "tail#ephemeral", true));
            var threw = false;
            try { Names.Wire("", "a b", false); } catch (InvalidRequestException e) { threw = e.Code == "invalid_name"; }
            Check.True(threw, "a name with a space is refused with invalid_name");
            threw = false;
            try { Names.Wire("", "t#ephemeral", false); } catch (InvalidRequestException) { threw = true; }
            Check.True(threw, "#ephemeral only on channels");
        }

        [Test]
        public static void ErrorsAreTypedByTheirContractCode()
        {
            Check.True(IsmldException.For("unauthorized", "x") is UnauthorizedException, "unauthorized");
            Check.True(IsmldException.For("forbidden", "x") is ForbiddenException, "forbidden");
            Check.True(IsmldException.For("not_found", "x") is NotFoundException, "not_found");
            Check.True(IsmldException.For("invalid_name", "x") is InvalidRequestException, "invalid_name");
            Check.True(IsmldException.For("storage_full", "x") is LimitException, "storage_full");
            Check.True(IsmldException.For("timeout", "x") is IsmldTimeoutException, "timeout");
            Check.True(IsmldException.For("disconnected", "x") is DisconnectedException, "disconnected");
            Check.Equal(507, IsmldException.For("storage_full", "x").Status);
            Check.Equal(503, IsmldException.For("unavailable", "x").Status);
            Check.Equal(401, HttpApi.Fail(401, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"no\"}}").Status);
            Check.Equal("no", HttpApi.Fail(401, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"no\"}}").Message);
            Check.True(HttpApi.Fail(403, "not json") is ForbiddenException, "a bare 403");
        }

        [Test]
        public static void AnswersWithoutAContractBodyAreTypedByTheirStatus()
        {
            Check.Equal("conflict", HttpApi.Fail(409, "").Code);
            Check.True(HttpApi.Fail(409, "") is InvalidRequestException, "a bare 409");
            Check.Equal("unsupported_media_type", HttpApi.Fail(415, "<html>").Code);
            Check.Equal("unavailable", HttpApi.Fail(503, "Service Unavailable").Code);
            Check.Equal("unavailable", HttpApi.Fail(429, "").Code);
            Check.Equal("storage_full", HttpApi.Fail(507, "").Code);
            Check.True(HttpApi.Fail(507, "") is LimitException, "a bare 507");
            Check.Equal("timeout", HttpApi.Fail(504, "").Code);
            Check.Equal("invalid_request", HttpApi.Fail(422, "").Code);
            Check.Equal("internal", HttpApi.Fail(500, "").Code);
            // A code this client does not know (a newer bus): typed by its status.
            var e = HttpApi.Fail(503, "{\"error\":{\"code\":\"overloaded\",\"message\":\"busy\"}}");
            Check.Equal("unavailable", e.Code);
            Check.Equal("busy", e.Message);
            Check.Equal(503, e.Status);
        }
    }
}
