export { metadata } from './modules/sync_orocrm/index'
