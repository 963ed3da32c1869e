// Request-response: a responder answers rpc.add requests; a caller waits for the answer.
//   ISMLD_TOKEN=... mono dotnet/bin/examples/RequestResponse.exe
using System;
using System.Threading.Tasks;
using Ismld;
using Newtonsoft.Json.Linq;

static class RequestResponse
{
    static void Main() => Run().GetAwaiter().GetResult();

    static async Task Run()
    {
        using (var connection = new IsmlConnection(new IsmlConnectionOptions { Url = Config.Url, ClientCredentials = Config.Credentials() }))
        {
            var responder = connection.Subscribe(new SubscriptionOptions { Topic = "rpc.add", Channel = "adders" }, async message =>
            {
                var args = message.Payload.CastTo<JObject>();
                await message.Respond(new Sum { Value = (int)args["a"] + (int)args["b"] });
            });
            await responder.Start();

            var reply = await connection.RequestAsync<Sum>("rpc.add", new { a = 1, b = 2 }, TimeSpan.FromSeconds(5));
            Console.WriteLine("1 + 2 = " + reply.Value);

            var response = await connection.RequestEventAsync("rpc.add", new { a = 2, b = 2 }, TimeSpan.FromSeconds(5));
            Console.WriteLine($"2 + 2 = {response.Data["value"]} ({response.Type} from {response.Source})");
        }
    }
}
