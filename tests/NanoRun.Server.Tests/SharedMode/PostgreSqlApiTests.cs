
namespace NanoRun.Server.Tests.SharedMode;

/// <summary>The API tests, unchanged, on the shared store: each runs its world on a fresh PostgreSQL database.</summary>
public sealed class PostgreSqlApiTests
{
    [Fact]
    public Task Post_Body_AnswersSeeOtherAndProcessesWithOwnResult() =>
        TestWorld.OnPostgreSqlAsync(new EnqueueTests().Post_Body_AnswersSeeOtherAndProcessesWithOwnResult);

    [Fact]
    public Task Post_FailingCommand_RetriedExactlyAttemptsTimesWith502AndReturnCode() =>
        TestWorld.OnPostgreSqlAsync(new EnqueueTests().Post_FailingCommand_RetriedExactlyAttemptsTimesWith502AndReturnCode);

    [Fact]
    public Task Post_Headers_VisibleAsEnvironmentWithAttemptHeaders() =>
        TestWorld.OnPostgreSqlAsync(new EnqueueTests().Post_Headers_VisibleAsEnvironmentWithAttemptHeaders);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task Post_OversizedBody_Answers413AndStoresNothing(bool withContentLength) =>
        TestWorld.OnPostgreSqlAsync(() => new EnqueueTests().Post_OversizedBody_Answers413AndStoresNothing(withContentLength));

    [Fact]
    public Task Workers_Two_RunExactlyTwoAtOnce() =>
        TestWorld.OnPostgreSqlAsync(new EnqueueTests().Workers_Two_RunExactlyTwoAtOnce);

    [Fact]
    public Task GetRecord_Complete_CarriesCompatibleHeadersAndFields() =>
        TestWorld.OnPostgreSqlAsync(new RecordTests().GetRecord_Complete_CarriesCompatibleHeadersAndFields);

    [Fact]
    public Task GetRequest_ReturnsSavedBodyAndOriginalHeaders() =>
        TestWorld.OnPostgreSqlAsync(new RecordTests().GetRequest_ReturnsSavedBodyAndOriginalHeaders);

    [Fact]
    public Task PostId_Retry_CreatesNewRequestWithSameContent() =>
        TestWorld.OnPostgreSqlAsync(new RecordTests().PostId_Retry_CreatesNewRequestWithSameContent);

    [Fact]
    public Task Results_OfDifferentRequests_NeverOverwriteEachOther() =>
        TestWorld.OnPostgreSqlAsync(new RecordTests().Results_OfDifferentRequests_NeverOverwriteEachOther);

    [Fact]
    public Task Delete_RunningAttempt_KillsProcessGroupIncludingGrandchild() =>
        TestWorld.OnPostgreSqlAsync(new CancelTests().Delete_RunningAttempt_KillsProcessGroupIncludingGrandchild);

    [Fact]
    public Task Delete_Retrying_StopsFurtherAttempts() =>
        TestWorld.OnPostgreSqlAsync(new CancelTests().Delete_Retrying_StopsFurtherAttempts);

    [Fact]
    public Task Put_DefaultWait_RedirectsToCompletedThenAttempt() =>
        TestWorld.OnPostgreSqlAsync(new SyncWaitTests().Put_DefaultWait_RedirectsToCompletedThenAttempt);

    [Fact]
    public Task Put_CustomWait_WaitsForFinalOutcomeNotFirstAttempt() =>
        TestWorld.OnPostgreSqlAsync(new SyncWaitTests().Put_CustomWait_WaitsForFinalOutcomeNotFirstAttempt);
}
