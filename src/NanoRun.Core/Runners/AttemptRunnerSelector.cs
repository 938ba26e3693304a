using NanoRun.Units;

namespace NanoRun.Runners;

/// <summary>Picks the runner for a unit's mode.</summary>
internal sealed class AttemptRunnerSelector
{
    private readonly BinRunner _bin;
    private readonly CgiRunner _cgi;
    private readonly ProxyRunner _proxy;
    private readonly HandlerRunner? _handler;

    public AttemptRunnerSelector(BinRunner bin, CgiRunner cgi, ProxyRunner proxy, HandlerRunner? handler = null)
    {
        _bin = bin;
        _cgi = cgi;
        _proxy = proxy;
        _handler = handler;
    }

    public IAttemptRunner For(UnitMode mode) => mode switch
    {
        UnitMode.Handler => _handler ?? throw new InvalidOperationException("in-process units need the HandlerRunner service"),
        UnitMode.Cgi => _cgi,
        UnitMode.Proxy => _proxy,
        _ => _bin,
    };
}
