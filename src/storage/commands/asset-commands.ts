import {
  assetDecider,
  assetStream,
  requireUsableAsset,
  type AssetCommand,
} from '../../domain/asset/asset.js';
import {
  handleCommand,
  loadState,
  type CommandEnvelope,
  type CommandHandlerOptions,
} from '../command-handler.js';
import type { EventStore } from '../event-store/port.js';

/** An asset command, on the asset's stream; a new preview is decided with that image's state. */
export const handleAssetCommand = (
  store: EventStore,
  command: AssetCommand,
  envelope: CommandEnvelope,
  options?: CommandHandlerOptions,
) =>
  handleCommand(
    store,
    {
      stream: assetStream(command.data.assetId),
      ...assetDecider,
      decide: async (asset) => {
        const previewId = command.type === 'ChangeAssetDetails' && command.data.previewAssetId;
        const preview = previewId
          ? (await loadState(store, assetStream(previewId), assetDecider)).state
          : undefined;
        return assetDecider.decide(command, { asset, ...(preview ? { preview } : {}) });
      },
    },
    envelope,
    options,
  );

/** The asset as its stream tells it now (an upload is visible here before any read model). */
export const loadAsset = async (store: EventStore, assetId: string) =>
  (await loadState(store, assetStream(assetId), assetDecider)).state;

/**
 * Refuses a reference to an asset that does not exist or does not fit its use (a skybox is an
 * image). Checked before the referring command rather than within it: assets are never deleted,
 * so what holds now still holds when that command is decided.
 */
export const requireUsable = async (store: EventStore, assetId: string, use: 'skybox' | 'object') =>
  requireUsableAsset(await loadAsset(store, assetId), assetId, use);
