namespace NanoRun.Storage.Testing;

/// <summary>One test's isolated storage (a temp folder, a fresh database) for the conformance suite; a provider's test
/// project derives one and names it in each suite class it runs.</summary>
/// <remarks>
/// The suite creates a new world per test with the parameterless constructor, calls <see cref="OpenAsync"/>, then
/// <see cref="IRequestStore.InitializeAsync"/>. A test may close the stores (disposing the request store when it is
/// <see cref="IAsyncDisposable"/>) and call <see cref="OpenAsync"/> again: the new stores must see the same data. After
/// the test the stores are closed and the world is disposed, which removes its data. Worlds of different tests run in
/// parallel and must not share state.
/// </remarks>
public abstract class StoreWorld : IAsyncDisposable
{
    /// <summary>Opens the provider's stores over this world's data, not yet initialized.</summary>
    /// <param name="time">The test's fake clock; stores that read the time must use it.</param>
    public abstract Task<ProviderStores> OpenAsync(TimeProvider time);

    /// <summary>Removes this world's data; the suite has closed the stores already.</summary>
    public abstract ValueTask DisposeAsync();
}

/// <summary>A provider's stores as opened by <see cref="StoreWorld.OpenAsync"/>.</summary>
/// <param name="Requests">The request store; the callback tests also need it to be an <see cref="ICallbackStore"/>.</param>
/// <param name="Blobs">The blob store.</param>
public sealed record ProviderStores(IRequestStore Requests, IBlobStore Blobs);
