namespace NanoRun.Units;

/// <summary>
/// Reloads the units from their folder while the engine runs, registered by
/// <see cref="NanoRunBuilderUnitExtensions.ReloadUnitsFromDirectory"/>: a unit file that no longer parses or validates
/// keeps its last good definition in force.
/// </summary>
public interface IUnitReloader
{
    /// <summary>Asks for a reload soon, such as on <c>SIGHUP</c>; requests close together are served by one reload. Returns at once.</summary>
    void RequestReload();
}
