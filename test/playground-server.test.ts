// Proves the fake Discord against the real discord.js client: a tiny inline bot (not Kodiak's)
// logs in, registers commands, answers interactions, uploads files, reacts and gets paced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  ActionRowBuilder, ButtonBuilder, ButtonStyle, Client, DiscordAPIError, GatewayIntentBits, MessageFlags, ModalBuilder, Partials,
  Routes, SlashCommandBuilder, StringSelectMenuBuilder, TextInputBuilder, TextInputStyle, type Interaction, type MessageReaction, type TextChannel, type User,
} from 'discord.js';
import { discordClientOptions, isEphemeral, startFakeDiscord, type FakeDiscord } from '../playground/server/index.js';

const commands = [
  new SlashCommandBuilder().setName('ping').setDescription('Replies pong, only to you'),
  new SlashCommandBuilder().setName('slow').setDescription('Defers, then edits')
    .addStringOption((o) => o.setName('name').setDescription('A dataset name').setRequired(true))
    .addAttachmentOption((o) => o.setName('image').setDescription('A photo')),
  new SlashCommandBuilder().setName('late').setDescription('Answers after the 3 s window'),
  new SlashCommandBuilder().setName('menu').setDescription('Posts a button and a select menu'),
  new SlashCommandBuilder().setName('find').setDescription('Finds a dataset')
    .addStringOption((o) => o.setName('query').setDescription('Part of the name').setAutocomplete(true).setRequired(true)),
  new SlashCommandBuilder().setName('rename').setDescription('Opens a modal'),
];

describe('fake Discord with the real discord.js client', () => {
  let fake: FakeDiscord;
  let client: Client;
  let channel: TextChannel;
  const lateErrors: unknown[] = [];
  let releaseLate: () => void = () => {};
  const lateGate = new Promise<void>((resolve) => (releaseLate = resolve));
  const replyIds: string[] = [];
  const reactions: { emoji: string | null; userId: string }[] = [];
  const seenMessages: { content: string; attachmentUrls: string[] }[] = [];

  async function onInteraction(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) {
      const typed = interaction.options.getFocused();
      await interaction.respond(['bears', 'beetles', 'cats'].filter((n) => n.startsWith(typed)).map((n) => ({ name: n, value: n })));
    } else if (interaction.isChatInputCommand()) {
      if (interaction.commandName === 'ping') {
        const allowed = interaction.memberPermissions?.has('ManageGuild') ? 'admin' : 'member';
        const member = interaction.inCachedGuild() ? interaction.member : null;
        const roles = member?.roles.cache.filter((r) => r.name !== '@everyone').map((r) => r.name).sort().join(',');
        const response = await interaction.reply({ content: `pong (${allowed}; roles: ${roles || 'none'})`, flags: MessageFlags.Ephemeral, withResponse: true });
        replyIds.push(response.resource?.message?.id ?? 'missing');
      } else if (interaction.commandName === 'slow') {
        await interaction.deferReply();
        const image = interaction.options.getAttachment('image');
        await interaction.editReply(`training ${interaction.options.getString('name', true)} with ${image?.name ?? 'no image'} (${image?.contentType})`);
        await interaction.followUp({ content: 'only you can see this', flags: MessageFlags.Ephemeral });
      } else if (interaction.commandName === 'late') {
        await lateGate;
        await interaction.reply('too late').catch((error: unknown) => lateErrors.push(error));
      } else if (interaction.commandName === 'rename') {
        const input = new TextInputBuilder().setCustomId('new-name').setLabel('New name').setStyle(TextInputStyle.Short).setMaxLength(32);
        await interaction.showModal(new ModalBuilder().setCustomId('rename-modal').setTitle('Rename').addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(input),
        ));
      } else if (interaction.commandName === 'menu') {
        const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('keep:1').setLabel('Keep').setStyle(ButtonStyle.Success),
        );
        const select = new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(
          new StringSelectMenuBuilder().setCustomId('relabel:1').setPlaceholder('Relabel').addOptions(
            { label: 'grizzly', value: 'grizzly' }, { label: 'teddy', value: 'teddy' },
          ),
        );
        await interaction.reply({ content: 'Is this a bear?', components: [buttons, select] });
      }
    } else if (interaction.isModalSubmit()) {
      await interaction.reply({ content: `renamed to ${interaction.fields.getTextInputValue('new-name')}`, flags: MessageFlags.Ephemeral });
    } else if (interaction.isButton()) {
      await interaction.update({ content: `kept by ${interaction.user.username}`, components: [] });
    } else if (interaction.isStringSelectMenu()) {
      await interaction.deferUpdate();
      await interaction.editReply({ content: `relabelled to ${interaction.values[0]}`, components: [] });
    }
  }

  beforeAll(async () => {
    fake = await startFakeDiscord({
      guilds: [{ name: 'Bears', channels: ['general', 'training'] }],
      // A short window so the 429 test retries quickly.
      rateLimits: { 'POST /channels/:channel_id/messages': { limit: 5, windowMs: 1_000 } },
      heartbeatIntervalMs: 250,
    });
    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.GuildMessageReactions, GatewayIntentBits.MessageContent],
      partials: [Partials.Message, Partials.Channel, Partials.Reaction],
      ...discordClientOptions(fake),
    });
    client.on('interactionCreate', (interaction) => void onInteraction(interaction));
    client.on('messageReactionAdd', (reaction: MessageReaction | { emoji: { name: string | null } }, user: User | { id: string }) => {
      reactions.push({ emoji: reaction.emoji.name, userId: user.id });
    });
    client.on('messageCreate', (message) => {
      if (!message.author.bot) seenMessages.push({ content: message.content, attachmentUrls: message.attachments.map((a) => a.url) });
    });
    const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
    await client.login(fake.token);
    await ready;
    channel = client.channels.cache.get(fake.channel('general').id) as TextChannel;
  });

  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
  });

  it('logs in: READY gives the user and application, GUILD_CREATE fills the caches, heartbeats are acked', async () => {
    expect(client.user?.id).toBe(fake.botUser.id);
    expect(client.application?.id).toBe(fake.applicationId);
    const guild = client.guilds.cache.get(fake.guild.id);
    expect(guild?.name).toBe('Bears');
    expect(guild?.channels.cache.map((c) => c.name).sort()).toEqual(['general', 'training']);
    expect(guild?.members.me?.permissions.has('SendMessages')).toBe(true);
    expect(channel.isTextBased()).toBe(true);
    await fake.waitFor(() => client.ws.ping >= 0, 'a heartbeat ACK');
  });

  it('registers guild commands and refuses an invalid name with 50035', async () => {
    const registered = await client.application!.commands.set(commands.map((c) => c.toJSON()), fake.guild.id);
    expect([...registered.values()].map((c) => c.name).sort()).toEqual(['find', 'late', 'menu', 'ping', 'rename', 'slow']);
    expect(fake.commands(fake.guild.id).map((c) => c.name)).toEqual(['ping', 'slow', 'late', 'menu', 'find', 'rename']);
    const error = await client.application!.commands.create({ name: 'Bad Name', description: 'x' }, fake.guild.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(50035);
    expect((error as DiscordAPIError).status).toBe(400);
    expect((error as DiscordAPIError).message).toMatch(/name\[APPLICATION_COMMAND_INVALID_NAME\]/);

    // Checked recursively: a bad subcommand name inside a group, 26 choices, a 101-character description.
    const choices = Array.from({ length: 26 }, (_, i) => ({ name: `c${i}`, value: `c${i}` }));
    const nested = [{
      name: 'dataset', description: 'd', options: [
        { type: 2, name: 'labels', description: 'g', options: [{ type: 1, name: 'Fix', description: 's' }] },
        { type: 1, name: 'pick', description: 'x'.repeat(101), options: [{ type: 3, name: 'class', description: 'c', choices }] },
      ],
    }];
    const bulk = await client.rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guild.id), { body: nested }).catch((e: unknown) => e);
    const lines = (bulk as DiscordAPIError).message.split('\n');
    expect(lines).toContain('0.options[0].options[0].name[APPLICATION_COMMAND_INVALID_NAME]: Command name is invalid: must be lowercase');
    expect(lines).toContain('0.options[1].description[BASE_TYPE_BAD_LENGTH]: Must be between 1 and 100 in length.');
    expect(lines).toContain('0.options[1].options[0].choices[BASE_TYPE_MAX_LENGTH]: Must be 25 or fewer in length.');
    expect(fake.commands(fake.guild.id)).toHaveLength(6); // a refused PUT changes nothing
  });

  it('an ephemeral reply carries flags 64, and a second callback is refused with 40060', async () => {
    const alice = fake.user('alice', { permissions: ['ManageGuild'], roles: ['trainers'] });
    const handle = await alice.runCommand('ping');
    const reply = await handle.reply();
    expect(reply.content).toBe('pong (admin; roles: alice-permissions,trainers)');
    // with_response=true hands the created message back to the bot
    expect(await fake.waitFor(() => replyIds[0], 'the bot to get its response')).toBe(reply.id);
    expect(handle.ephemeral).toBe(true);
    expect(isEphemeral(reply)).toBe(true);
    expect(handle.callbackType).toBe(4);
    expect(fake.messages('general').some((m) => m.id === reply.id)).toBe(false); // ephemeral: not in the channel
    const again = await client.rest
      .post(Routes.interactionCallback(handle.id, handle.token), { body: { type: 4, data: { content: 'twice' } }, auth: false })
      .catch((e: unknown) => e);
    expect((again as DiscordAPIError).code).toBe(40060);
    const bob = fake.user('bob');
    expect((await (await bob.runCommand('ping')).reply()).content).toBe('pong (member; roles: none)');

    // The webhook token dies after 15 minutes.
    fake.advanceTime(15 * 60_000 + 1);
    const expired = await client.rest
      .patch(Routes.webhookMessage(fake.applicationId, handle.token, '@original'), { body: { content: 'later' }, auth: false })
      .catch((e: unknown) => e);
    expect((expired as DiscordAPIError).code).toBe(50027);
  });

  it('a deferred reply becomes visible once edited, with the attachment option resolved', async () => {
    const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#a0522d' } }).png().toBuffer();
    const handle = await fake.user('alice').runCommand('slow', { name: 'bears' }, { attachments: [{ name: 'bear.png', data: png }] });
    const reply = await handle.reply();
    expect(handle.callbackType).toBe(5);
    expect(reply.content).toBe('training bears with bear.png (image/png)');
    expect(handle.ephemeral).toBe(false);
    expect(fake.messages('general').map((m) => m.id)).toContain(reply.id);
    expect(reply.interaction_metadata?.user.id).toBe(fake.user('alice').id);
    const followUp = await handle.waitForFollowUp();
    expect(followUp.content).toBe('only you can see this');
    expect(isEphemeral(followUp)).toBe(true);
  });

  it('answers autocomplete with choices (type 8)', async () => {
    const handle = await fake.user('bob').autocomplete('find', 'query', { query: 'be' });
    expect(await handle.choices()).toEqual([{ name: 'bears', value: 'bears' }, { name: 'beetles', value: 'beetles' }]);
    await expect(fake.user('bob').runCommand('find', {})).rejects.toThrow(/requires option "query"/);
  });

  it('opens a modal (type 9) and receives its submission', async () => {
    const opened = await fake.user('bob').runCommand('rename');
    expect((await opened.acknowledged()).type).toBe(9);
    const submitted = await fake.user('bob').submitModal(opened, { 'new-name': 'grizzlies' });
    expect((await submitted.reply()).content).toBe('renamed to grizzlies');
  });

  it('an interaction answered after 3 s gets 10062 Unknown interaction', async () => {
    const handle = await fake.user('alice').runCommand('late');
    fake.advanceTime(3_001);
    await handle.expired();
    await expect(handle.reply({ timeout: 500 })).rejects.toThrow(/not answered within 3 s/);
    releaseLate();
    await fake.waitFor(() => lateErrors.length > 0, 'the late reply to fail');
    expect(lateErrors[0]).toBeInstanceOf(DiscordAPIError);
    expect((lateErrors[0] as DiscordAPIError).code).toBe(10062);
    expect(handle.rejectedCallbacks.map((r) => r.code)).toEqual([10062]);
  });

  it('a button click is answered with an update (type 7), a select with defer + edit', async () => {
    const reply = await (await fake.user('bob').runCommand('menu')).reply();
    expect(reply.components).toHaveLength(2);
    const since = fake.mark();
    const click = await fake.user('bob').click(reply, 'Keep');
    const updated = await click.reply();
    expect(click.callbackType).toBe(7);
    expect(updated.id).toBe(reply.id);
    expect(updated.content).toBe('kept by bob');
    expect(await fake.waitForEdit((m) => m.id === reply.id, { since })).toMatchObject({ content: 'kept by bob' });
    // The message has no components now, so a second click is a test error.
    await expect(fake.user('bob').click(reply, 'keep:1')).rejects.toThrow(/no button/);

    const menu = await (await fake.user('alice').runCommand('menu')).reply();
    const pick = await fake.user('alice').select(menu, 'relabel:1', ['teddy']);
    expect((await pick.reply()).content).toBe('relabelled to teddy');
    expect(pick.callbackType).toBe(6);
  });

  it('uploads a PNG in a channel message and serves it back at its attachment URL', async () => {
    const png = await sharp({ create: { width: 5, height: 2, channels: 4, background: '#000' } }).png().toBuffer();
    const sent = await channel.send({ content: 'chart', files: [{ attachment: png, name: 'chart.png' }] });
    const attachment = sent.attachments.first()!;
    expect(attachment.url.startsWith(fake.url)).toBe(true);
    expect(attachment.width).toBe(5);
    const response = await fetch(attachment.url);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer()).equals(png)).toBe(true);
    expect(await fake.waitForMessage((m) => m.id === sent.id)).toMatchObject({ content: 'chart' });

    // Editing with an empty attachments list removes the file, as on Discord.
    const edited = await sent.edit({ content: 'no chart', attachments: [] });
    expect(edited.attachments.size).toBe(0);
    expect(fake.message(sent.id).attachments).toHaveLength(0);
  });

  it('refuses content over 2000 characters with 400 / 50035', async () => {
    const error = await channel.send('x'.repeat(2001)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).status).toBe(400);
    expect((error as DiscordAPIError).code).toBe(50035);
    expect((error as DiscordAPIError).message).toContain('content[BASE_TYPE_MAX_LENGTH]: Must be 2000 or fewer in length.');
  });

  it('refuses components, embeds and files over the limits', async () => {
    const row = { type: 1, components: Array.from({ length: 6 }, (_, i) => ({ type: 2, style: 1, label: `b${i}`, custom_id: `b${i}` })) };
    const tooWide = await client.rest.post(Routes.channelMessages(channel.id), { body: { components: [row] } }).catch((e: unknown) => e);
    expect((tooWide as DiscordAPIError).code).toBe(50035);
    expect((tooWide as DiscordAPIError).message).toContain('components[0].components[BASE_TYPE_MAX_LENGTH]');
    const noId = await channel.send({ components: [{ type: 1, components: [{ type: 2, style: 1, label: 'x' }] }] } as never).catch((e: unknown) => e);
    expect((noId as DiscordAPIError).message).toContain('custom_id[BASE_TYPE_REQUIRED]');
    const bigEmbeds = Array.from({ length: 2 }, () => ({ description: 'd'.repeat(3_500) }));
    const tooLong = await channel.send({ embeds: bigEmbeds }).catch((e: unknown) => e);
    expect((tooLong as DiscordAPIError).message).toContain('MESSAGE_EMBED_TOO_LONG');
    const huge = await channel.send({ files: [{ attachment: Buffer.alloc(10 * 1024 * 1024 + 1), name: 'big.bin' }] }).catch((e: unknown) => e);
    expect((huge as DiscordAPIError).status).toBe(413);
    expect((huge as DiscordAPIError).code).toBe(40005);
    const empty = await channel.send({ content: '' }).catch((e: unknown) => e);
    expect((empty as DiscordAPIError).code).toBe(50006);
  });

  it("delivers a user's photo as MESSAGE_CREATE and a user's reaction as messageReactionAdd", async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } }).jpeg().toBuffer();
    await fake.user('carol').send({ content: 'what bear is this?', attachments: [{ name: 'mystery.jpg', data: jpeg }] });
    const seen = await fake.waitFor(() => seenMessages.find((m) => m.content === 'what bear is this?'), 'the client to see the photo');
    const bytes = Buffer.from(await (await fetch(seen.attachmentUrls[0]!)).arrayBuffer());
    expect(bytes.equals(jpeg)).toBe(true);

    const target = await channel.send('react to me');
    await target.react('✅');
    await fake.user('carol').react(target.id, '🗑️');
    await fake.waitFor(() => reactions.find((r) => r.userId === fake.user('carol').id), 'the reaction to reach the client');
    expect(reactions).toContainEqual({ emoji: '🗑️', userId: fake.user('carol').id });
    expect(reactions).toContainEqual({ emoji: '✅', userId: fake.botUser.id });
    expect(fake.message(target.id).reactions?.map((r) => [r.emoji.name, r.count, r.me])).toEqual([['✅', 1, true], ['🗑️', 1, false]]);
    await fake.user('carol').unreact(target.id, '🗑️');
    expect(fake.message(target.id).reactions?.map((r) => r.emoji.name)).toEqual(['✅']);
    await target.reactions.removeAll();
    expect(fake.message(target.id).reactions).toBeUndefined();
  });

  it('lets the client RESUME after a dropped connection and replays what it missed', async () => {
    const since = fake.mark();
    fake.disconnectGateway();
    await fake.user('dave').send('sent while the bot was away');
    await fake.waitFor(() => fake.events('gateway.resumed', since)[0], 'the client to resume');
    await fake.waitFor(() => seenMessages.find((m) => m.content === 'sent while the bot was away'), 'the replayed message');
    expect(fake.events('gateway.ready', since)).toHaveLength(0); // resumed, not identified again
  });

  it('answers 429 when a bucket is spent elsewhere; discord.js waits and retries', async () => {
    const training = client.channels.cache.get(fake.channel('training').id) as TextChannel;
    await training.send('first'); // the client learns the bucket from the headers
    fake.rateLimits.drain('POST /channels/:channel_id/messages', training.id);
    const sent = await training.send('after the wait');
    expect(fake.rateLimits.hits).toHaveLength(1);
    expect(fake.rateLimits.hits[0]).toMatchObject({ method: 'POST', route: '/channels/:channel_id/messages' });
    expect(fake.messages('training').map((m) => m.content)).toEqual(['first', 'after the wait']);
    expect(sent.content).toBe('after the wait');
  });
});
