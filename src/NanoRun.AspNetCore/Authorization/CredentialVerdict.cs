namespace NanoRun.AspNetCore.Authorization;

/// <summary>What one authorization method made of a request.</summary>
internal enum CredentialVerdict
{
    /// <summary>The request carries no credential for this method.</summary>
    Missing,

    /// <summary>The request carries a credential for this method and it is wrong.</summary>
    Refused,

    /// <summary>The request carries a valid credential for this method.</summary>
    Accepted,
}
