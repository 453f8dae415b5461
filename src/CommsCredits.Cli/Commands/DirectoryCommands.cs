namespace CommsCredits.Cli.Commands;

using System.CommandLine;
using System.Globalization;
using CommsCredits.Contracts.V1;
using Spectre.Console;

/// <summary>users and licences: the Directory service.</summary>
internal static class DirectoryCommands
{
    /// <summary>The most pages "users list" follows.</summary>
    public const int MaxPages = 1_000;

    public static void AddTo(RootCommand root, CommandRunner runner)
    {
        root.Subcommands.Add(new Command("users", "Users.") { Put(runner), Get(runner), List(runner), Remove(runner) });
        root.Subcommands.Add(new Command("licences", "Communications credits licences.") { Licence(runner, "grant", grant: true), Licence(runner, "revoke", grant: false) });
    }

    private static Command Put(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var user = Text.Required("--user", "The user id (AAD object id).");
        var upn = Text.Required("--upn", "The user principal name.");
        var name = new Option<string?>("--display-name") { Description = "The name for people." };
        var location = new Option<string?>("--location") { Description = "ISO 3166 country code of the usage location." };
        var licence = new Option<bool>("--licence") { Description = "Holds a communications credits licence." };
        var plan = new Option<CallingPlan>("--calling-plan") { Description = "The calling plan: None, Domestic or PayAsYouGo.", DefaultValueFactory = _ => CallingPlan.None };
        var audio = new Option<bool>("--audio-conferencing") { Description = "Holds an audio conferencing licence." };
        var command = new Command("put", "Creates or replaces a user.") { tenant, user, upn, name, location, licence, plan, audio };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            var request = new PutUserRequest
            {
                TenantId = parsed.GetValue(tenant)!, UserId = parsed.GetValue(user)!, Upn = parsed.GetValue(upn)!,
                DisplayName = parsed.GetValue(name) ?? string.Empty, LocationCountry = parsed.GetValue(location) ?? string.Empty,
                CommunicationsCreditsLicence = parsed.GetValue(licence), CallingPlan = parsed.GetValue(plan), AudioConferencing = parsed.GetValue(audio),
            };
            await PrintAsync(session, await session.Directory.PutUserAsync(request, session.Call(cancellationToken)).ConfigureAwait(false)).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Get(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var user = Text.Required("--user", "The user id.");
        var command = new Command("get", "Shows a user.") { tenant, user };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            var found = await session.Directory.GetUserAsync(new GetUserRequest { TenantId = parsed.GetValue(tenant)!, UserId = parsed.GetValue(user)! }, session.Call(cancellationToken)).ConfigureAwait(false);
            await PrintAsync(session, found).ConfigureAwait(false);
        });
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var command = new Command("list", "The tenant's users, following every page.") { tenant };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            var request = new ListUsersRequest { TenantId = parsed.GetValue(tenant)! };
            var table = new Table().AddColumns("User", "UPN", "Display name", "Location", "Licence", "Calling plan", "Audio conferencing");
            var count = 0;
            for (var pages = 0; pages == 0 || request.PageToken.Length > 0; pages++)
            {
                if (pages == MaxPages)
                {
                    throw new UsageException($"more than {MaxPages.ToString(CultureInfo.InvariantCulture)} pages of users");
                }

                var page = await session.Directory.ListUsersAsync(request, session.Call(cancellationToken)).ConfigureAwait(false);
                foreach (var user in page.Users)
                {
                    table.AddRow(Markup.Escape(user.UserId), Markup.Escape(user.Upn), Markup.Escape(user.DisplayName), Markup.Escape(user.LocationCountry), YesNo(user.CommunicationsCreditsLicence), user.CallingPlan.ToString(), YesNo(user.AudioConferencing));
                }

                count += page.Users.Count;
                request.PageToken = page.NextPageToken;
            }

            session.Console.Write(table);
            await session.Output.WriteLineAsync($"{count.ToString(CultureInfo.InvariantCulture)} users").ConfigureAwait(false);
        });
        return command;
    }

    private static Command Remove(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var user = Text.Required("--user", "The user id.");
        var command = new Command("remove", "Removes a user.") { tenant, user };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            _ = await session.Directory.RemoveUserAsync(new RemoveUserRequest { TenantId = parsed.GetValue(tenant)!, UserId = parsed.GetValue(user)! }, session.Call(cancellationToken)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("removed " + parsed.GetValue(user)).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Licence(CommandRunner runner, string name, bool grant)
    {
        var tenant = Text.Tenant();
        var user = Text.Required("--user", "The user id.");
        var command = new Command(name, grant ? "Grants a user the communications credits licence." : "Revokes a user's communications credits licence.") { tenant, user };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            // The directory has no partial update: the user is read and put back whole with the licence changed.
            var found = await session.Directory.GetUserAsync(new GetUserRequest { TenantId = parsed.GetValue(tenant)!, UserId = parsed.GetValue(user)! }, session.Call(cancellationToken)).ConfigureAwait(false);
            var request = new PutUserRequest
            {
                TenantId = found.TenantId, UserId = found.UserId, Upn = found.Upn, DisplayName = found.DisplayName, LocationCountry = found.LocationCountry,
                CommunicationsCreditsLicence = grant, CallingPlan = found.CallingPlan, AudioConferencing = found.AudioConferencing,
            };
            await PrintAsync(session, await session.Directory.PutUserAsync(request, session.Call(cancellationToken)).ConfigureAwait(false)).ConfigureAwait(false);
        });
        return command;
    }

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static async Task PrintAsync(CliSession session, User user)
    {
        await session.Output.WriteLineAsync("user:               " + user.UserId).ConfigureAwait(false);
        await session.Output.WriteLineAsync("upn:                " + user.Upn).ConfigureAwait(false);
        await session.Output.WriteLineAsync("display name:       " + user.DisplayName).ConfigureAwait(false);
        await session.Output.WriteLineAsync("location:           " + user.LocationCountry).ConfigureAwait(false);
        await session.Output.WriteLineAsync("licence:            " + YesNo(user.CommunicationsCreditsLicence)).ConfigureAwait(false);
        await session.Output.WriteLineAsync("calling plan:       " + user.CallingPlan.ToString()).ConfigureAwait(false);
        await session.Output.WriteLineAsync("audio conferencing: " + YesNo(user.AudioConferencing)).ConfigureAwait(false);
    }
}
