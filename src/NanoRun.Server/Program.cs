using NanoRun.Server;

return await Cli.RunAsync(args).ConfigureAwait(false);
