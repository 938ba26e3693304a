using System.CommandLine;
using NanoRun.Storage;

namespace NanoRun.Server;

/// <summary><c>nano-run server init [-d DIR] [--config-file server.yaml] [--no-sample] [--force]</c>: writes a commented <c>server.yaml</c>, its folders and a sample unit.</summary>
internal static class InitCommand
{
    private const string SampleName = "sample.yaml";

    private const string ServerYaml = """
        # Nano-Run server configuration. Every key is optional: the values below are the defaults.
        # Relative paths are relative to the folder of this file.

        # Data folder of the embedded store (SQLite and body files).
        working_directory: run

        # Unit folder: each *.yaml or *.yml file is an endpoint /api/{name}/
        # (conf.d/team/build.yaml is the unit team-build).
        config_directory: conf.d

        # Watch the unit folder and apply changes while running (false: reload on SIGHUP only).
        watch: true

        # Listen address, host:port (0.0.0.0:8989 for every interface).
        bind: 127.0.0.1:8989

        # After SIGINT/SIGTERM, how long running attempts may finish before they are cancelled
        # (and run again on the next start).
        graceful_shutdown: 5s

        # How long a synchronous call (PUT /api/{unit}/) waits by default; ?wait=DURATION overrides it.
        wait_time: 30s

        # Longest wait a PUT may ask for with ?wait=; a longer one is cut to this.
        # max_wait: 10m

        # Most connections open at once; one past the limit is closed without an answer.
        # max_connections: 10000

        # Free space (bytes) the data folder's file system keeps; below it new requests get 503 (0 = no check).
        min_free_disk: 67108864

        # Finished requests kept per unit: removed when older than max_age or past max_count (newest kept).
        # A unit file may set its own.
        retention:
          max_age: 168h
          max_count: 10000

        # Log lines as text or json (one JSON object per line); --log-format overrides it.
        log_format: text

        # The name this node is listed under on the nodes page and in GET /api/nodes (default: host name and port).
        # node_name: node-1

        # Prometheus metrics; bind serves them on their own listener instead of the main one.
        metrics:
          enabled: true
          path: /metrics
        #   bind: 127.0.0.1:9464

        # Spans of every request (accept, attempts, callback) exported over OTLP/HTTP to a collector (default: off).
        # tracing:
        #   otlp_endpoint: http://127.0.0.1:4318

        # Networks a caller's X-Callback-Url may reach although they are private, loopback or link-local.
        # callbacks:
        #   allow_networks: [10.0.0.0/8]

        # No UI routes at all.
        # disable_ui: false

        # Folder whose static/ files override the UI's assets.
        # ui_directory: ui

        # HTTPS with a PEM certificate and key.
        # tls:
        #   enable: true
        #   cert: server.crt
        #   key: server.key

        # UI login through OAuth2; users lists the allowed logins and viewers the read-only ones (both empty: any
        # logged-in user, with every right).
        # auth:
        #   oauth2:
        #     title: GitHub
        #     key: CLIENT_ID
        #     secret: CLIENT_SECRET
        #     auth_url: https://github.com/login/oauth/authorize
        #     token_url: https://github.com/login/oauth/access_token
        #     profile_url: https://api.github.com/user
        #     login_field: login
        #     icon: https://github.com/favicon.ico
        #     callback_url: https://runner.example.com/ui/auth/callback
        #     scopes: [read:user]
        #   users: [alice, bob]
        #   viewers: [carol]

        # Storage provider: sqlite (embedded, single node) or postgresql (several nodes); lease is how long a
        # node's claim on a running request lasts without renewal.
        storage:
          provider: sqlite
          lease: 30s
        #   provider: postgresql
        #   connection_string: Host=localhost;Database=nanorun;Username=nanorun;Password=secret

        """;

    private const string SampleUnit = """
        # A unit: POST /api/sample/ saves the request and answers 303 with its id; the command runs
        # in the background, once per attempt. PUT /api/sample/?wait=10s waits for the result.
        #
        # bin mode: the body is stdin, each request header an environment variable (X-Name -> X_NAME),
        # stdout the result; exit 0 is a 200 attempt (204 without output), anything else 502.
        command: 'echo "hello from attempt $X_ATTEMPT"; cat'

        # bin, cgi (a CGI/1.1 script: Status: and other headers, a blank line, the body)
        # or proxy (command is an http(s) URL the saved request is sent to).
        mode: bin

        # Shell that runs the command as `shell -c command`.
        # shell: /bin/sh

        # Working directory; by default a fresh temporary folder per attempt, removed afterwards.
        # workdir: /srv/jobs

        # Extra environment variables.
        # environment:
        #   GREETING: hello

        # OS user that owns the process (the server must run as root).
        # user: nobody

        # SIGINT to the process group after graceful_timeout, SIGKILL after timeout.
        # graceful_timeout: 50s
        # timeout: 1m

        # An attempt with status 500 or more is tried again after interval, up to attempts in all.
        attempts: 3
        interval: 5s

        # Attempts of this unit running at once (0 = number of CPUs).
        workers: 1

        # Largest request body in bytes (0 = unlimited); larger ones are refused with 413.
        max_request: 1048576

        # Hidden from the API (for units that only run on a schedule).
        # private: false

        # API authorization: any enabled method that accepts the request lets it through.
        # authorization:
        #   header_token:
        #     enable: true
        #     header: X-Api-Token
        #     tokens: [change-me]

        # Schedules: a request with these headers and body is queued at each tick.
        # cron:
        #   - spec: "@every 1h"
        #     name: hourly
        #     content: ping

        """;

    public static Command Create()
    {
        var directory = new Option<string>("--directory", "-d")
        {
            Description = "folder to initialize; default the current folder (env NANO_RUN_DIRECTORY)",
            DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("NANO_RUN_DIRECTORY") is { Length: > 0 } value ? value : ".",
        };
        var configFile = new Option<string>("--config-file")
        {
            Description = "name of the server configuration, relative to the folder; default server.yaml (env NANO_RUN_CONFIG_FILE)",
            DefaultValueFactory = static _ => Environment.GetEnvironmentVariable("NANO_RUN_CONFIG_FILE") is { Length: > 0 } value ? value : "server.yaml",
        };
        var noSample = new Option<bool>("--no-sample")
        {
            Description = "do not write the sample unit (env NANO_RUN_NO_SAMPLE)",
            DefaultValueFactory = static _ => Cli.IsTrue(Environment.GetEnvironmentVariable("NANO_RUN_NO_SAMPLE")),
        };
        var force = new Option<bool>("--force")
        {
            Description = "overwrite files that already exist (env NANO_RUN_FORCE)",
            DefaultValueFactory = static _ => Cli.IsTrue(Environment.GetEnvironmentVariable("NANO_RUN_FORCE")),
        };

        var command = new Command("init", "Write a commented server.yaml, the unit and data folders, and a sample unit") { directory, configFile, noSample, force };
        command.SetAction(result => Initialize(result.GetValue(directory)!, result.GetValue(configFile)!, result.GetValue(noSample), result.GetValue(force)));
        return command;
    }

    /// <summary>Writes the files; refuses, before writing anything, when one exists and <paramref name="force"/> is off. Returns the exit code.</summary>
    public static int Initialize(string directory, string configFile, bool noSample, bool force)
    {
        var configPath = Path.GetFullPath(Path.Combine(directory, configFile));
        var root = Path.GetDirectoryName(configPath)!;
        var unitFolder = Path.Combine(root, "conf.d");
        var dataFolder = Path.Combine(root, "run");
        var samplePath = Path.Combine(unitFolder, SampleName);

        var files = new List<(string Path, string Text)> { (configPath, ServerYaml) };
        if (!noSample)
        {
            files.Add((samplePath, SampleUnit));
        }

        if (!force)
        {
            var existing = files.Where(f => File.Exists(f.Path)).Select(f => f.Path).ToList();
            if (existing.Count > 0)
            {
                Console.Error.WriteLine($"nano-run server init: {string.Join(", ", existing)} already exists; nothing written (use --force to overwrite)");
                return 2;
            }
        }

        try
        {
            Directory.CreateDirectory(root);
            Directory.CreateDirectory(unitFolder);
            PrivateFiles.CreateFolder(dataFolder);
            foreach (var (path, text) in files)
            {
                File.WriteAllText(path, text);
                Console.WriteLine("nano-run server init: wrote " + path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("nano-run server init: " + e.Message);
            return 1;
        }

        Console.WriteLine($"nano-run server init: start with: nano-run server run -c {configPath}");
        return 0;
    }
}
