namespace NanoRun.Admission;

/// <summary>The answer of one enqueue: the stored request's id, the id stored earlier under the same key, or the refusal that stored nothing.</summary>
/// <param name="Id">The request's id: new when admitted, earlier when replayed; <c>null</c> when refused.</param>
/// <param name="Admission">The decision; <see cref="AdmissionResult.IsAdmitted"/> whenever <paramref name="Id"/> is set.</param>
public readonly record struct EnqueueResult(string? Id, AdmissionResult Admission)
{
    /// <summary>Whether the request is stored (new or earlier) and <see cref="Id"/> names it.</summary>
    public bool IsAccepted => Id is not null;

    /// <summary>A refusal: nothing was stored.</summary>
    public static EnqueueResult Refused(AdmissionResult admission) => new(null, admission);
}
