namespace CommsCredits.Grpc.Server.Internal;

using Microsoft.Extensions.Options;

/// <summary>Validates <see cref="GrpcServerOptions"/> at start-up; messages name the setting with its section path.</summary>
internal sealed class GrpcServerOptionsValidator(string sectionPath) : IValidateOptions<GrpcServerOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpcServerOptions options)
    {
        var errors = options.Validate(sectionPath);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
