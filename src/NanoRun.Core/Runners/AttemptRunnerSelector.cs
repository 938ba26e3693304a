using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>Picks the runner for a unit's mode.</summary>
internal sealed class AttemptRunnerSelector
{
    private readonly BinRunner _bin;
    private readonly CgiRunner _cgi;
    private readonly ProxyRunner _proxy;

    public AttemptRunnerSelector(BinRunner bin, CgiRunner cgi, ProxyRunner proxy)
    {
        _bin = bin;
        _cgi = cgi;
        _proxy = proxy;
    }

    public IAttemptRunner For(UnitMode mode) => mode switch
    {
        UnitMode.Cgi => _cgi,
        UnitMode.Proxy => _proxy,
        _ => _bin,
    };
}
