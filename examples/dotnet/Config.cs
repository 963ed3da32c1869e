// Where the examples connect: ISMLD_URL (default the `npm run dev` address) and
// ISMLD_TOKEN (e.g. the dev admin token it prints) or ISMLD_LOGIN + ISMLD_SECRET.
using System;
using Ismld;

static class Config
{
    public static string Url => Environment.GetEnvironmentVariable("ISMLD_URL") ?? "http://127.0.0.1:8787";

    public static ClientCredentials Credentials(string clientId = null)
    {
        var login = Environment.GetEnvironmentVariable("ISMLD_LOGIN");
        return login != null
            ? new ClientCredentials { Login = login, Secret = Environment.GetEnvironmentVariable("ISMLD_SECRET") ?? "", ClientId = clientId }
            : new ClientCredentials { Token = Environment.GetEnvironmentVariable("ISMLD_TOKEN") ?? "", ClientId = clientId };
    }
}

/// <summary>The seed's event.</summary>
public class OnPingSentMessage
{
    public string Message { get; set; }
}

/// <summary>The seed's handler state, saved as the message's checkpoint.</summary>
public class HandlerProgressData
{
    public int Counter { get; set; }
}

/// <summary>The answer of rpc.add.</summary>
public class Sum
{
    public int Value { get; set; }
}
