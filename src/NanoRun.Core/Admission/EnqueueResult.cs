namespace NanoRun.Admission;

/// <summary>The answer of one enqueue: the stored request's id, or the admission refusal that stored nothing.</summary>
/// <param name="Id">The new request's id; <c>null</c> when refused, or when a request with the same dedupe key was already stored.</param>
/// <param name="Admission">The admission decision; <see cref="AdmissionResult.Admitted"/> whenever <paramref name="Id"/> is set.</param>
internal readonly record struct EnqueueResult(string? Id, AdmissionResult Admission)
{
    public static EnqueueResult Refused(AdmissionResult admission) => new(null, admission);
}
