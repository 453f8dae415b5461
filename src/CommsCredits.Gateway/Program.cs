using CommsCredits.Gateway.Hosting;

return await GatewayCommands.RunAsync(args);
