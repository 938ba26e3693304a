using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using NanoRun.Configuration;
using NanoRun.Core.Tests;
using YamlDotNet.RepresentationModel;

namespace NanoRun.Server.Tests.Packaging;

/// <summary>
/// The manifests of packaging/kubernetes held to the server they deploy: probe paths are the health routes it maps
/// and answer as a liveness and a readiness probe should, ports are the one it listens on, and the mounted files
/// and folders are where the image of packaging/docker/Dockerfile reads its configuration and units.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly IReadOnlyList<YamlMappingNode> Manifests = LoadManifests();

    [Fact]
    public async Task Probes_LivenessAndReadiness_AreTheServersHealthRoutesAndAnswerAsSuch()
    {
        var container = Container();
        var liveness = Scalar(container, "livenessProbe", "httpGet", "path");
        var readiness = Scalar(container, "readinessProbe", "httpGet", "path");
        // Not ready: the data folder is below min_free_disk, as a node cut off from its store is.
        await using var world = await TestWorld.Create($"min_free_disk: {long.MaxValue}\n").WithUnit("echo", "command: cat\n").StartAsync();

        var mapped = world.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(static endpoint => "/" + endpoint.RoutePattern.RawText!.Trim('/'))
            .ToHashSet(StringComparer.Ordinal);
        using var live = await world.Client.GetAsync(liveness.TrimStart('/'));
        using var ready = await world.Client.GetAsync(readiness.TrimStart('/'));

        Assert.Contains(liveness, mapped);
        Assert.Contains(readiness, mapped);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Fact]
    public void Ports_ContainerProbesAndService_AreTheServersListenPort()
    {
        var container = Container();
        var port = (YamlMappingNode)Sequence(container, "ports").Single();
        var portName = Scalar(port, "name");
        var containerPort = int.Parse(Scalar(port, "containerPort"), System.Globalization.CultureInfo.InvariantCulture);
        var service = Find("Service", "nano-run");

        var defaultPort = PortOf(new ServerOptions().Bind);
        var configuredPort = PortOf(ManifestServerOptions().Bind);
        var imagePort = int.Parse(DockerfileMatch(ExposeLine()), System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(defaultPort, containerPort);
        Assert.Equal(configuredPort, containerPort);
        Assert.Equal(imagePort, containerPort);
        Assert.Equal(portName, Scalar(container, "livenessProbe", "httpGet", "port"));
        Assert.Equal(portName, Scalar(container, "readinessProbe", "httpGet", "port"));
        Assert.Equal(portName, Scalar((YamlMappingNode)Sequence(service, "spec", "ports").Single(), "targetPort"));
    }

    [Fact]
    public void Paths_MountedConfigurationAndUnits_AreWhereTheImageReadsThem()
    {
        var container = Container();
        var options = ManifestServerOptions();
        var imageOptions = ServerConfigLoader.Parse(ImageServerYaml(), "Dockerfile", "/", static _ => null);
        var imageConfigFile = DockerfileMatch(ConfigEnvironmentLine());

        Assert.Equal(imageOptions.ConfigDirectory, options.ConfigDirectory);
        Assert.Equal(options.ConfigDirectory, MountPathOf(container, "units"));
        Assert.Equal(options.DataDirectory, MountPathOf(container, "data"));
        Assert.Equal(imageConfigFile, Environment(container, "NANO_RUN_CONFIG"));
        Assert.Equal(imageConfigFile, MountPathOf(container, "server") + "/server.yaml");
        Assert.Equal("nano-run-server", Scalar(Volume("server"), "configMap", "name"));
        Assert.Equal("nano-run-units", Scalar(Volume("units"), "configMap", "name"));
        Assert.NotNull(Find("ConfigMap", "nano-run-units"));
    }

    [Fact]
    public void Environment_ConnectionStringAndNodeName_ComeFromTheSecretAndThePodName()
    {
        var container = Container();
        var connectionString = EnvironmentEntry(container, ServerConfigLoader.ConnectionStringVariable);
        var nodeName = EnvironmentEntry(container, ServerConfigLoader.NodeNameVariable);
        var secretName = Scalar(connectionString, "valueFrom", "secretKeyRef", "name");
        var secretKey = Scalar(connectionString, "valueFrom", "secretKeyRef", "key");

        var secret = Find("Secret", secretName);

        Assert.Equal("postgresql", ManifestServerOptions().StorageProvider);
        Assert.Contains(new YamlScalarNode(secretKey), ((YamlMappingNode)secret.Children[new YamlScalarNode("stringData")]).Children.Keys);
        Assert.Equal("metadata.name", Scalar(nodeName, "valueFrom", "fieldRef", "fieldPath"));
    }

    [Fact]
    public void Selectors_ServiceAndDisruptionBudget_SelectTheDeploymentsPods()
    {
        var deployment = Find("Deployment", "nano-run");
        var podLabels = (YamlMappingNode)Node(deployment, "spec", "template", "metadata", "labels");

        var serviceSelector = (YamlMappingNode)Node(Find("Service", "nano-run"), "spec", "selector");
        var budgetSelector = (YamlMappingNode)Node(Find("PodDisruptionBudget", "nano-run"), "spec", "selector", "matchLabels");

        Assert.True(int.Parse(Scalar(deployment, "spec", "replicas"), System.Globalization.CultureInfo.InvariantCulture) > 1);
        Assert.Equal(podLabels, Node(deployment, "spec", "selector", "matchLabels"));
        Assert.All(serviceSelector.Children, label => Assert.Equal(label.Value, podLabels.Children[label.Key]));
        Assert.All(budgetSelector.Children, label => Assert.Equal(label.Value, podLabels.Children[label.Key]));
    }

    private static List<YamlMappingNode> LoadManifests()
    {
        var manifests = new List<YamlMappingNode>();
        foreach (var file in Directory.GetFiles(RepositoryFolder.Path("packaging", "kubernetes"), "*.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                stream.Load(reader);
            }

            foreach (var document in stream.Documents)
            {
                var root = (YamlMappingNode)document.RootNode;
                if (root.Children.ContainsKey(new YamlScalarNode("kind")) && Scalar(root, "kind") != "Kustomization")
                {
                    manifests.Add(root);
                }
            }
        }

        return manifests;
    }

    private static YamlMappingNode Find(string kind, string name) =>
        Manifests.Single(m => Scalar(m, "kind") == kind && Scalar(m, "metadata", "name") == name);

    private static YamlMappingNode Container() =>
        (YamlMappingNode)Sequence(Find("Deployment", "nano-run"), "spec", "template", "spec", "containers").Single();

    private static YamlMappingNode Volume(string name) =>
        Sequence(Find("Deployment", "nano-run"), "spec", "template", "spec", "volumes").Cast<YamlMappingNode>().Single(v => Scalar(v, "name") == name);

    private static string MountPathOf(YamlMappingNode container, string volume) =>
        Scalar(Sequence(container, "volumeMounts").Cast<YamlMappingNode>().Single(m => Scalar(m, "name") == volume), "mountPath");

    private static YamlMappingNode EnvironmentEntry(YamlMappingNode container, string name) =>
        Sequence(container, "env").Cast<YamlMappingNode>().Single(e => Scalar(e, "name") == name);

    private static string Environment(YamlMappingNode container, string name) => Scalar(EnvironmentEntry(container, name), "value");

    /// <summary>The server.yaml of the manifests' ConfigMap, read by the server's own loader.</summary>
    private static ServerOptions ManifestServerOptions()
    {
        var text = Scalar(Find("ConfigMap", "nano-run-server"), "data", "server.yaml");
        return ServerConfigLoader.Parse(text, "configmap.yaml", "/", static _ => "Host=db");
    }

    /// <summary>The server.yaml the Dockerfile writes into the image, one quoted printf argument per line.</summary>
    private static string ImageServerYaml() =>
        string.Join('\n', ImageConfigLine().Matches(Dockerfile()).Select(static m => m.Groups[1].Value));

    private static string Dockerfile() => File.ReadAllText(RepositoryFolder.Path("packaging", "docker", "Dockerfile"));

    private static string DockerfileMatch(Regex pattern) => pattern.Match(Dockerfile()) is { Success: true } match
        ? match.Groups[1].Value
        : throw new InvalidOperationException($"packaging/docker/Dockerfile has no line matching {pattern}");

    private static int PortOf(string bind) => int.Parse(bind[(bind.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    private static YamlNode Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    private static YamlSequenceNode Sequence(YamlNode node, params string[] path) => (YamlSequenceNode)Node(node, path);

    [GeneratedRegex(@"^\s*'((?:working_directory|config_directory|bind): [^']+)'", RegexOptions.Multiline)]
    private static partial Regex ImageConfigLine();

    [GeneratedRegex(@"^EXPOSE (\d+)$", RegexOptions.Multiline)]
    private static partial Regex ExposeLine();

    [GeneratedRegex(@"^ENV NANO_RUN_CONFIG=(\S+)$", RegexOptions.Multiline)]
    private static partial Regex ConfigEnvironmentLine();
}
