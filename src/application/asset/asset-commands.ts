import {
  assetDecider,
  assetStream,
  requireUsableAsset,
  type Asset,
  type AssetCommand,
  type AssetEvent,
} from '../../domain/asset/asset.js';
import type { Aggregate, CommandBus } from '../command-bus.js';
import type { CommandEnvelope, Unstamped } from '../envelope.js';

const assetFold = {
  name: 'asset',
  initialState: assetDecider.initialState,
  evolve: assetDecider.evolve,
};

/** The asset as its stream tells it now (an upload is visible here before any read model). */
export const loadAsset = async (bus: CommandBus, assetId: string) =>
  (await bus.load(assetFold, assetStream(assetId))).state;

/** Asset commands, on the asset's stream; a new preview is decided with that image's state. */
export const assetAggregate = (bus: CommandBus): Aggregate<Asset, AssetCommand, AssetEvent> => ({
  ...assetFold,
  decider: async (commands) => {
    const previews = new Map<string, Asset>();
    for (const command of commands) {
      const previewId = command.type === 'ChangeAssetDetails' && command.data.previewAssetId;
      if (previewId) previews.set(previewId, await loadAsset(bus, previewId));
    }
    return (command, asset) => {
      const previewId = command.type === 'ChangeAssetDetails' && command.data.previewAssetId;
      const preview = previewId ? previews.get(previewId) : undefined;
      return assetDecider.decide(command, { asset, ...(preview ? { preview } : {}) });
    };
  },
});

export const assetSlice = (bus: CommandBus) => ({
  handle: (command: Unstamped<AssetCommand>, envelope: CommandEnvelope) =>
    bus.handle(assetAggregate(bus), assetStream(command.data.assetId), [command], envelope),
  load: (assetId: string) => loadAsset(bus, assetId),
  /**
   * Refuses a reference to an asset that does not exist or does not fit its use (a skybox is an
   * image). Checked before the referring command rather than within it: assets are never
   * deleted, so what holds now still holds when that command is decided.
   */
  requireUsable: async (assetId: string, use: 'skybox' | 'object') =>
    requireUsableAsset(await loadAsset(bus, assetId), assetId, use),
});
