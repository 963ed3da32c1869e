using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("Ismld")]
[assembly: AssemblyDescription("The C# client of ismld, a CloudEvents-native event bus on Cloudflare Workers")]
[assembly: AssemblyVersion("0.1.0.0")]
[assembly: InternalsVisibleTo("Ismld.Tests")]
